// The frame every data page shares: a time range, its variables, and the controls above the panels
// (variable pickers when there are variables, time picker, refresh picker).
import {
  EmbeddedScene,
  SceneControlsSpacer,
  SceneRefreshPicker,
  SceneTimePicker,
  SceneTimeRange,
  SceneVariableSet,
  VariableValueSelectors,
  type SceneObject,
  type SceneVariable,
} from '@grafana/scenes';
import type { TimeOption } from '@grafana/data';
import { FLOW_QUICK_RANGES } from './quickRanges';

export { FLOW_QUICK_RANGES };

const REFRESH_INTERVALS = ['30s', '1m', '5m'];

export interface PageSceneOptions {
  body: SceneObject;
  variables?: SceneVariable[];
  /** Start of the default time range, relative to now. */
  from?: string;
  /** The time picker's quick ranges (Grafana's own list when unset). */
  quickRanges?: TimeOption[];
}

export function pageScene({ body, variables, from = 'now-1h', quickRanges }: PageSceneOptions): EmbeddedScene {
  return new EmbeddedScene({
    $timeRange: new SceneTimeRange({ from, to: 'now' }),
    ...(variables ? { $variables: new SceneVariableSet({ variables }) } : {}),
    body,
    controls: [
      ...(variables ? [new VariableValueSelectors({})] : []),
      new SceneControlsSpacer(),
      new SceneTimePicker({ isOnCanvas: true, ...(quickRanges ? { quickRanges } : {}) }),
      new SceneRefreshPicker({ intervals: REFRESH_INTERVALS, isOnCanvas: true }),
    ],
  });
}
