// The three flow views (as EKS's flow table has them) and the categories each shows.
import type { Category } from '../../datasource/hubTypes';

export interface FlowView {
  id: 'cluster' | 'aws' | 'external';
  title: string;
  path: string;
  description: string;
  categories: Category[];
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
];
