// The flow views: the three EKS's flow table has, and the categories each shows; then "Failing", every category
// ranked by failures so the connections that fail come first.
import { CATEGORIES, type Category, type Metric } from '../../datasource/hubTypes';

export interface FlowView {
  id: 'cluster' | 'aws' | 'external' | 'failing';
  title: string;
  path: string;
  description: string;
  categories: Category[];
  /** The hub's ranking for this view, and the table's sort (its ranked column); else the page's "Rank by". */
  rank?: Metric;
}

export const FLOW_VIEWS: FlowView[] = [
  {
    id: 'cluster',
    title: 'Cluster',
    path: '',
    description: 'East-west flows between pods, within a zone and across zones.',
    categories: ['INTRA_AZ', 'INTER_AZ'],
  },
  {
    id: 'aws',
    title: 'AWS services',
    path: 'aws-services',
    description: 'Flows from pods to Amazon S3 and Amazon DynamoDB.',
    categories: ['AMAZON_S3', 'AMAZON_DYNAMODB'],
  },
  {
    id: 'external',
    title: 'External',
    path: 'external',
    description: 'Flows to addresses outside the cluster and AWS services (internet, on-premises).',
    categories: ['UNCLASSIFIED'],
  },
  {
    id: 'failing',
    title: 'Failing',
    path: 'failing',
    description:
      'Flows whose connections fail, first: failed connects (no answer, or refused), resets and packets the kernel dropped, with the drop reason (NETFILTER_DROP: a firewall rule or NetworkPolicy; NO_SOCKET: nothing listens).',
    categories: [...CATEGORIES],
    rank: 'failures',
  },
];
