import { EmbeddedScene, PanelBuilders, SceneFlexItem, SceneFlexLayout } from '@grafana/scenes';

export function invalidDrilldownScene(path: string) {
  return new EmbeddedScene({
    body: new SceneFlexLayout({
      children: [
        new SceneFlexItem({
          minHeight: 120,
          body: PanelBuilders.text()
            .setTitle('Cannot show these flows')
            .setOption(
              'content',
              `The link names no workload, pod or IP Flowlens understands: \`${path.replace(/`/g, '')}\`.`
            )
            .build(),
        }),
      ],
    }),
  });
}
