/**
 * What Grafana registers at boot before any panel renders (public/app/app.ts): the standard field options every
 * panel's field config is built from (unit, decimals, min/max, display name, colour, thresholds, value mappings,
 * no value, data links) and the standard transformations (the ones @grafana/data ships). Editors are left out:
 * no panel editor runs here.
 */
import {
  FieldConfigProperty,
  dataLinksOverrideProcessor,
  displayNameOverrideProcessor,
  identityOverrideProcessor,
  numberOverrideProcessor,
  standardFieldConfigEditorRegistry,
  standardTransformers,
  standardTransformersRegistry,
  stringOverrideProcessor,
  thresholdsOverrideProcessor,
  unitOverrideProcessor,
  valueMappingsOverrideProcessor,
  type DataTransformerInfo,
  type FieldConfigPropertyItem,
  type TransformerRegistryItem,
} from '@grafana/data';

const NoEditor = () => null;

function option(
  id: string,
  process: FieldConfigPropertyItem['process'],
  defaultValue?: unknown
): FieldConfigPropertyItem {
  return {
    id,
    path: id,
    name: id,
    editor: NoEditor,
    override: NoEditor,
    process,
    shouldApply: () => true,
    defaultValue,
  } as FieldConfigPropertyItem;
}

export function registerStandardOptions(): void {
  standardFieldConfigEditorRegistry.setInit(() => [
    option(FieldConfigProperty.Unit, unitOverrideProcessor as never),
    option(FieldConfigProperty.Min, numberOverrideProcessor),
    option(FieldConfigProperty.Max, numberOverrideProcessor),
    option(FieldConfigProperty.Decimals, numberOverrideProcessor),
    option(FieldConfigProperty.DisplayName, displayNameOverrideProcessor),
    option(FieldConfigProperty.Color, identityOverrideProcessor, { mode: 'palette-classic' }),
    option(FieldConfigProperty.Thresholds, thresholdsOverrideProcessor, {
      mode: 'absolute',
      steps: [{ value: -Infinity, color: 'green' }],
    }),
    option(FieldConfigProperty.Mappings, valueMappingsOverrideProcessor, []),
    option(FieldConfigProperty.NoValue, stringOverrideProcessor),
    option(FieldConfigProperty.Links, dataLinksOverrideProcessor),
  ]);
  // Some transformers are listed twice in standardTransformers (aliases); the registry takes each id once.
  const unique = [...new Map(Object.values(standardTransformers).map((t: DataTransformerInfo) => [t.id, t])).values()];
  standardTransformersRegistry.setInit(() =>
    unique.map(
      (t: DataTransformerInfo) =>
        ({
          id: t.id,
          name: t.name,
          description: t.description,
          transformation: () => Promise.resolve(t),
          defaultOptions: t.defaultOptions,
          editor: NoEditor,
          imageDark: '',
          imageLight: '',
        }) as TransformerRegistryItem
    )
  );
}
