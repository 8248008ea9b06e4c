import { EmbeddedScene, PanelBuilders, SceneFlexItem, SceneFlexLayout } from '@grafana/scenes';
import { alertsMarkdown } from './alertRules';

export function alertsScene() {
  return new EmbeddedScene({
    body: new SceneFlexLayout({
      children: [
        new SceneFlexItem({
          minHeight: 360,
          body: PanelBuilders.text().setTitle('Provisioned alert rules').setOption('content', alertsMarkdown()).build(),
        }),
      ],
    }),
  });
}
