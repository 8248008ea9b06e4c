/**
 * zod schemas of Grafana's file-provisioning formats, written from Grafana's provisioning
 * documentation (administration/provisioning and alerting/set-up/provision-alerting-resources/
 * file-provisioning). Strict objects: a misspelt key is an error, as it would be silently ignored
 * by Grafana.
 */
import { z } from 'zod';

/** Grafana uids: at most 40 characters of letters, digits, '-' and '_'. */
export const uid = z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, 'uid: 1-40 letters, digits, - or _');
export const duration = z.string().regex(/^(\d+(ms|s|m|h|d|w|y))+$/, 'duration like 30s, 1m, 4h');
const apiVersion = z.literal(1);

export const datasourcesFile = z
  .object({
    apiVersion,
    deleteDatasources: z.array(z.object({ name: z.string(), orgId: z.number().int() }).strict()).optional(),
    datasources: z.array(
      z
        .object({
          name: z.string().min(1),
          type: z.string().min(1),
          uid,
          access: z.enum(['proxy', 'direct']).optional(),
          orgId: z.number().int().optional(),
          url: z.string().optional(),
          user: z.string().optional(),
          database: z.string().optional(),
          basicAuth: z.boolean().optional(),
          basicAuthUser: z.string().optional(),
          withCredentials: z.boolean().optional(),
          isDefault: z.boolean().optional(),
          jsonData: z.record(z.unknown()).optional(),
          secureJsonData: z.record(z.string()).optional(),
          version: z.number().int().optional(),
          editable: z.boolean().optional(),
        })
        .strict()
    ),
  })
  .strict();

export const appsFile = z
  .object({
    apiVersion,
    apps: z.array(
      z
        .object({
          type: z.string().min(1),
          org_id: z.number().int().optional(),
          org_name: z.string().optional(),
          disabled: z.boolean().optional(),
          jsonData: z.record(z.unknown()).optional(),
          secureJsonData: z.record(z.string()).optional(),
        })
        .strict()
    ),
  })
  .strict();

export const dashboardProvidersFile = z
  .object({
    apiVersion,
    providers: z.array(
      z
        .object({
          name: z.string().min(1),
          orgId: z.number().int().optional(),
          folder: z.string().optional(),
          folderUid: uid.optional(),
          type: z.literal('file'),
          disableDeletion: z.boolean().optional(),
          updateIntervalSeconds: z.number().int().positive().optional(),
          allowUiUpdates: z.boolean().optional(),
          options: z
            .object({ path: z.string().startsWith('/'), foldersFromFilesStructure: z.boolean().optional() })
            .strict(),
        })
        .strict()
    ),
  })
  .strict();

const ruleQuery = z
  .object({
    refId: z.string().min(1),
    queryType: z.string().optional(),
    relativeTimeRange: z
      .object({ from: z.number().int().nonnegative(), to: z.number().int().nonnegative() })
      .strict()
      .optional(),
    datasourceUid: z.string().min(1),
    model: z.record(z.unknown()).and(z.object({ refId: z.string() })),
  })
  .strict();

export const alertRule = z
  .object({
    uid,
    title: z.string().min(1),
    condition: z.string().min(1),
    data: z.array(ruleQuery).min(1),
    dashboardUid: z.string().optional(),
    panelId: z.number().int().optional(),
    noDataState: z.enum(['Alerting', 'NoData', 'OK', 'KeepLast']),
    execErrState: z.enum(['Alerting', 'Error', 'OK', 'KeepLast']),
    for: duration,
    annotations: z.record(z.string()).optional(),
    labels: z.record(z.string()).optional(),
    isPaused: z.boolean().optional(),
  })
  .strict();
export type AlertRule = z.infer<typeof alertRule>;

export const alertRulesFile = z
  .object({
    apiVersion,
    groups: z.array(
      z
        .object({
          orgId: z.number().int(),
          name: z.string().min(1),
          folder: z.string().min(1),
          interval: duration,
          rules: z.array(alertRule).min(1),
        })
        .strict()
    ),
    deleteRules: z.array(z.object({ orgId: z.number().int(), uid }).strict()).optional(),
  })
  .strict();

/** Settings of the two integrations Flowlens ships, as open-source Grafana names them. */
export const slackSettings = z
  .object({
    url: z.string().optional(),
    token: z.string().optional(),
    recipient: z.string().optional(),
    username: z.string().optional(),
    icon_emoji: z.string().optional(),
    icon_url: z.string().optional(),
    mentionChannel: z.enum(['', 'here', 'channel']).optional(),
    mentionUsers: z.string().optional(),
    mentionGroups: z.string().optional(),
    color: z.string().optional(),
    title: z.string().optional(),
    text: z.string().optional(),
    endpointUrl: z.string().optional(),
  })
  .strict()
  .refine(
    (s) => Boolean(s.url) || (Boolean(s.token) && Boolean(s.recipient)),
    'slack needs url, or token and recipient'
  );

export const snsSettings = z
  .object({
    api_url: z.string().optional(),
    sigv4: z
      .object({
        region: z.string().optional(),
        access_key: z.string().optional(),
        secret_key: z.string().optional(),
        profile: z.string().optional(),
        role_arn: z.string().optional(),
      })
      .strict(),
    topic_arn: z.string().optional(),
    phone_number: z.string().optional(),
    target_arn: z.string().optional(),
    subject: z.string().optional(),
    message: z.string().optional(),
    attributes: z.record(z.string()).optional(),
  })
  .strict()
  .refine(
    (s) => Boolean(s.topic_arn) || Boolean(s.phone_number) || Boolean(s.target_arn),
    'sns needs topic_arn, phone_number or target_arn'
  )
  .refine(
    (s) => Boolean(s.sigv4.access_key) === Boolean(s.sigv4.secret_key),
    'sns sigv4 needs both access_key and secret_key, or neither'
  );

const receiver = z.object({
  uid,
  type: z.string().min(1),
  settings: z.record(z.unknown()),
  disableResolveMessage: z.boolean().optional(),
});

export const contactPointsFile = z
  .object({
    apiVersion,
    contactPoints: z.array(
      z
        .object({ orgId: z.number().int(), name: z.string().min(1), receivers: z.array(receiver.strict()).min(1) })
        .strict()
    ),
    deleteContactPoints: z.array(z.object({ orgId: z.number().int(), uid }).strict()).optional(),
  })
  .strict();

const matcher = z.tuple([z.string().min(1), z.enum(['=', '!=', '=~', '!~']), z.string()]);
export interface Route {
  receiver?: string;
  group_by?: string[];
  object_matchers?: Array<[string, string, string]>;
  continue?: boolean;
  group_wait?: string;
  group_interval?: string;
  repeat_interval?: string;
  mute_time_intervals?: string[];
  routes?: Route[];
}
const route: z.ZodType<Route> = z.lazy(() =>
  z
    .object({
      receiver: z.string().optional(),
      group_by: z.array(z.string()).optional(),
      object_matchers: z.array(matcher).optional(),
      continue: z.boolean().optional(),
      group_wait: duration.optional(),
      group_interval: duration.optional(),
      repeat_interval: duration.optional(),
      mute_time_intervals: z.array(z.string()).optional(),
      routes: z.array(route).optional(),
    })
    .strict()
);

export const policiesFile = z
  .object({
    apiVersion,
    policies: z.array(
      z
        .object({
          orgId: z.number().int(),
          receiver: z.string().min(1),
          group_by: z.array(z.string()).optional(),
          group_wait: duration.optional(),
          group_interval: duration.optional(),
          repeat_interval: duration.optional(),
          routes: z.array(route).optional(),
        })
        .strict()
    ),
  })
  .strict();

export const templatesFile = z
  .object({
    apiVersion,
    templates: z.array(
      z.object({ orgId: z.number().int(), name: z.string().min(1), template: z.string().min(1) }).strict()
    ),
  })
  .strict();

/** A value that names an environment variable (Grafana expands it at provisioning time) instead of holding a secret. */
export const ENV_REFERENCE =
  /^(\$[A-Z_][A-Z0-9_]*|\$\{[A-Z_][A-Z0-9_]*\}|\$__env\{[A-Z_][A-Z0-9_]*\}|\$__file\{[^}]+\})$/;
