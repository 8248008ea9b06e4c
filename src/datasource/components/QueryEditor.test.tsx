import React from 'react';
import { fireEvent, render, screen } from '@testing-library/react';
import { testIds } from '../../components/testIds';
import type { FlowsDataSource } from '../datasource';
import type { FlowsQuery } from '../types';
import { QueryEditor } from './QueryEditor';

function setup(query: FlowsQuery) {
  const onChange = jest.fn();
  const onRunQuery = jest.fn();
  render(<QueryEditor datasource={{} as FlowsDataSource} query={query} onChange={onChange} onRunQuery={onRunQuery} />);
  return { onChange, onRunQuery };
}

describe('QueryEditor', () => {
  it('starts from the defaults: top talkers by bytes over the cluster categories', () => {
    setup({ refId: 'A' });
    expect(screen.getByTestId(testIds.queryEditor.container)).toBeInTheDocument();
    expect(screen.getByRole('radio', { name: 'Top talkers' })).toBeChecked();
    expect(screen.getByRole('radio', { name: 'Bytes' })).toBeChecked();
    expect(screen.getByRole('checkbox', { name: 'Within a zone' })).toBeChecked();
    expect(screen.getByRole('checkbox', { name: 'Across zones' })).toBeChecked();
    expect(screen.getByRole('checkbox', { name: 'Amazon S3' })).not.toBeChecked();
  });

  it('switches the query type and runs the query', () => {
    const { onChange, onRunQuery } = setup({ refId: 'A' });
    fireEvent.click(screen.getByRole('radio', { name: 'Service map' }));
    expect(onChange).toHaveBeenCalledWith({ refId: 'A', queryType: 'serviceMap' });
    expect(onRunQuery).toHaveBeenCalled();
  });

  it('shows the view choice for the service map and no metric', () => {
    const { onChange } = setup({ refId: 'A', queryType: 'serviceMap' });
    expect(screen.queryByRole('radio', { name: 'Bytes' })).not.toBeInTheDocument();
    fireEvent.click(screen.getByRole('radio', { name: 'Pods' }));
    expect(onChange).toHaveBeenCalledWith({ refId: 'A', queryType: 'serviceMap', mapGroupBy: 'pod' });
  });

  it('toggles categories in canonical order, and sets metric and group by', () => {
    const { onChange } = setup({ refId: 'A', categories: ['INTER_AZ'] });
    fireEvent.click(screen.getByRole('checkbox', { name: 'External' }));
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'A', categories: ['INTER_AZ', 'UNCLASSIFIED'] });
    fireEvent.click(screen.getByRole('checkbox', { name: 'Within a zone' }));
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'A', categories: ['INTRA_AZ', 'INTER_AZ'] });
    fireEvent.click(screen.getByRole('radio', { name: 'RTOs' }));
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'A', categories: ['INTER_AZ'], metric: 'rtos' });
    fireEvent.click(screen.getByRole('radio', { name: 'Workload' }));
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'A', categories: ['INTER_AZ'], groupBy: 'workload' });
  });

  it('offers series grouping for time series', () => {
    const { onChange } = setup({ refId: 'A', queryType: 'timeseries' });
    fireEvent.click(screen.getByRole('radio', { name: 'Category' }));
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'A', queryType: 'timeseries', seriesGroupBy: 'category' });
  });

  it('keeps namespace and workload filters as typed (variables allowed) and runs on blur', () => {
    const { onChange, onRunQuery } = setup({ refId: 'A' });
    const ns = screen.getByTestId(testIds.queryEditor.namespace);
    fireEvent.change(ns, { target: { value: '$namespace' } });
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'A', namespace: '$namespace' });
    fireEvent.blur(ns);
    expect(onRunQuery).toHaveBeenCalled();
    fireEvent.change(screen.getByTestId(testIds.queryEditor.workload), { target: { value: 'cart' } });
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'A', workload: 'cart' });
  });

  it('clamps the row limit to the hub maximum and drops nonsense', () => {
    const { onChange } = setup({ refId: 'A' });
    const limit = screen.getByTestId(testIds.queryEditor.limit);
    fireEvent.change(limit, { target: { value: '9000' } });
    fireEvent.blur(limit);
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'A', limit: 500 });
    fireEvent.change(limit, { target: { value: '-3' } });
    fireEvent.blur(limit);
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'A', limit: undefined });
  });
});
