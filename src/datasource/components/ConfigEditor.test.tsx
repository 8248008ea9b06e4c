import React from 'react';
import { fireEvent, render, screen } from '@testing-library/react';
import type { DataSourceSettings } from '@grafana/data';
import { testIds } from '../../components/testIds';
import type { FlowsJsonData, FlowsSecureJsonData } from '../types';
import { ConfigEditor } from './ConfigEditor';

function options(p: Partial<DataSourceSettings<FlowsJsonData, FlowsSecureJsonData>> = {}) {
  return {
    id: 1,
    uid: 'flows',
    name: 'Flows',
    type: 'flowlens-flows-datasource',
    access: 'proxy',
    jsonData: { hubUrl: 'http://hub:8080' },
    secureJsonFields: {},
    ...p,
  } as DataSourceSettings<FlowsJsonData, FlowsSecureJsonData>;
}

describe('ConfigEditor', () => {
  it('edits the hub URL into jsonData', () => {
    const onOptionsChange = jest.fn();
    render(<ConfigEditor options={options()} onOptionsChange={onOptionsChange} />);
    const input = screen.getByTestId(testIds.datasourceConfig.hubUrl);
    expect(input).toHaveValue('http://hub:8080');
    fireEvent.change(input, { target: { value: ' http://flowlens-hub:9000 ' } });
    expect(onOptionsChange).toHaveBeenCalledWith(
      expect.objectContaining({ jsonData: { hubUrl: 'http://flowlens-hub:9000' } })
    );
  });

  it('puts the query token in secureJsonData only, never in jsonData', () => {
    const onOptionsChange = jest.fn();
    render(<ConfigEditor options={options()} onOptionsChange={onOptionsChange} />);
    fireEvent.change(screen.getByTestId(testIds.datasourceConfig.queryToken), { target: { value: 's3cret' } });
    const next = onOptionsChange.mock.calls[0][0];
    expect(next.secureJsonData).toEqual({ queryToken: 's3cret' });
    expect(JSON.stringify(next.jsonData)).not.toContain('s3cret');
  });

  it('shows a stored token as configured and can reset it', () => {
    const onOptionsChange = jest.fn();
    render(
      <ConfigEditor options={options({ secureJsonFields: { queryToken: true } })} onOptionsChange={onOptionsChange} />
    );
    expect(screen.getByDisplayValue('configured')).toBeInTheDocument();
    fireEvent.click(screen.getByRole('button', { name: /reset/i }));
    const next = onOptionsChange.mock.calls[0][0];
    expect(next.secureJsonFields.queryToken).toBe(false);
    expect(next.secureJsonData.queryToken).toBe('');
  });

  it('flags a URL without a scheme and explains browser access cannot work', () => {
    render(
      <ConfigEditor
        options={options({ jsonData: { hubUrl: 'hub:8080' }, access: 'direct' })}
        onOptionsChange={jest.fn()}
      />
    );
    expect(screen.getByText('Use an http:// or https:// URL')).toBeInTheDocument();
    expect(screen.getByText('Browser access is not supported')).toBeInTheDocument();
  });
});
