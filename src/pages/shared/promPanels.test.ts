import { NO_AGENT_METRICS } from './pageText';
import { promTimeseriesPanel } from './promPanels';

describe('promTimeseriesPanel', () => {
  it('says that agent metrics are missing instead of a bare "No data"', () => {
    const panel = promTimeseriesPanel(
      { title: 'Bytes', description: 'd', unit: 'Bps', queries: [{ refId: 'A', expr: 'up' }] } as never,
      { type: 'prometheus', uid: 'flowlens-prometheus' }
    );
    expect(panel.state.fieldConfig.defaults.noValue).toBe(NO_AGENT_METRICS);
    expect(NO_AGENT_METRICS).toMatch(/No flowlens_\* metrics/);
  });
});
