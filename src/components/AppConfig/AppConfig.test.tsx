import React from 'react';
import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import type { AppPluginMeta, PluginConfigPageProps } from '@grafana/data';
import { of } from 'rxjs';
import { testIds } from '../testIds';
import AppConfig from './AppConfig';
import type { AppSettings } from '../../app/settings';

const fetch = jest.fn();
const reload = jest.fn();

jest.mock('@grafana/runtime', () => ({
  ...jest.requireActual('@grafana/runtime'),
  getBackendSrv: () => ({ fetch }),
  locationService: { reload: () => reload() },
  // A plain select standing in for Grafana's picker (which needs the datasource service).
  DataSourcePicker: (p: { pluginId: string; current: string; onChange: (ds: { uid: string }) => void }) => (
    <select aria-label={`${p.pluginId} picker`} value={p.current} onChange={(e) => p.onChange({ uid: e.target.value })}>
      <option value="">none</option>
      <option value="flowlens-prometheus">flowlens-prometheus</option>
      <option value="flowlens-flows">flowlens-flows</option>
      <option value="other">other</option>
    </select>
  ),
}));

function props(jsonData?: AppSettings): PluginConfigPageProps<AppPluginMeta<AppSettings>> {
  return {
    plugin: { meta: { id: 'flowlens-netobs-app', enabled: true, pinned: true, jsonData } },
    query: {},
  } as unknown as PluginConfigPageProps<AppPluginMeta<AppSettings>>;
}

beforeEach(() => {
  fetch.mockReset().mockReturnValue(of({ data: {} }));
  reload.mockReset();
});

describe('AppConfig', () => {
  it('preselects the provisioned datasources when nothing is saved', () => {
    render(<AppConfig {...props()} />);
    expect(screen.getByTestId(testIds.appConfig.container)).toBeInTheDocument();
    expect(screen.getByLabelText('prometheus picker')).toHaveValue('flowlens-prometheus');
    expect(screen.getByLabelText('flowlens-flows-datasource picker')).toHaveValue('flowlens-flows');
  });

  it('saves the chosen datasources into the app jsonData and reloads', async () => {
    render(<AppConfig {...props({ flowsDatasourceUid: 'flowlens-flows' })} />);
    fireEvent.change(screen.getByLabelText('prometheus picker'), { target: { value: 'other' } });
    fireEvent.click(screen.getByTestId(testIds.appConfig.submit));
    await waitFor(() => expect(reload).toHaveBeenCalled());
    expect(fetch).toHaveBeenCalledWith({
      url: '/api/plugins/flowlens-netobs-app/settings',
      method: 'POST',
      data: {
        enabled: true,
        pinned: true,
        jsonData: { flowsDatasourceUid: 'flowlens-flows', prometheusDatasourceUid: 'other' },
      },
    });
  });

  it('shows why saving failed', async () => {
    fetch.mockReturnValue({ subscribe: (o: { error: (e: Error) => void }) => o.error(new Error('403 Forbidden')) });
    render(<AppConfig {...props()} />);
    fireEvent.click(screen.getByTestId(testIds.appConfig.submit));
    expect(await screen.findByText('403 Forbidden')).toBeInTheDocument();
    expect(reload).not.toHaveBeenCalled();
  });

  it('cannot save without both datasources', () => {
    render(<AppConfig {...props()} />);
    fireEvent.change(screen.getByLabelText('prometheus picker'), { target: { value: '' } });
    expect(screen.getByTestId(testIds.appConfig.submit)).toBeDisabled();
  });
});
