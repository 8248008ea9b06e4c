/**
 * The checks Grafana runs on a provisioned contact point integration before it starts, for the two
 * integrations Flowlens ships, restated from Grafana's own source so a test can run them on the
 * expanded settings (an error here is an error that stops Grafana's provisioning):
 *  - grafana/grafana pkg/services/provisioning/alerting/contact_point_types.go (ReceiverV1.mapToModel):
 *    a uid, a type and non-empty settings, then the integration's own validation;
 *  - grafana/alerting receivers/slack/v1/config.go (NewConfig), also receivers/slack/config.go;
 *  - grafana/alerting receivers/sns/v1/config.go (NewConfig), also receivers/sns/config.go; the topic and
 *    target ARNs go through aws-sdk-go's arn.Parse (aws/arn/arn.go).
 * The messages are Grafana's, word for word, so a failure reads like Grafana's log line.
 */

export const SLACK_API_URL = 'https://slack.com/api/chat.postMessage';

type Settings = Record<string, unknown>;

/** json.Unmarshal into a Go string field: absent or null is "", anything but a string is an error. */
function str(settings: Settings, key: string): string {
  const v = settings[key];
  if (v === undefined || v === null) {
    return '';
  }
  if (typeof v !== 'string') {
    throw new Error(`failed to unmarshal settings: ${key} is not a string`);
  }
  return v;
}

/**
 * Go's net/url.Parse refuses little: ASCII control characters, a malformed %-escape, or an invalid
 * port. This is that subset (what an expanded environment value can plausibly contain).
 */
export function goUrlParseError(raw: string): string | null {
  if (/[\x00-\x1f\x7f]/.test(raw)) {
    return 'net/url: invalid control character in URL';
  }
  if (/%(?![0-9A-Fa-f]{2})/.test(raw)) {
    return 'invalid URL escape';
  }
  const authority = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(raw)?.[1];
  const port = authority?.replace(/^.*@/, '').match(/^(?:\[[^\]]*\]|[^:]*)(?::(.*))?$/)?.[1];
  if (port !== undefined && !/^[0-9]*$/.test(port)) {
    return `invalid port ":${port}" after host`;
  }
  return null;
}

/** receivers/slack/v1/config.go NewConfig: the errors it returns, in its order. */
export function slackConfigError(settings: Settings): string | null {
  try {
    const endpointUrl = str(settings, 'endpointUrl') || SLACK_API_URL;
    const url = str(settings, 'url') || endpointUrl;
    if (goUrlParseError(url)) {
      return `invalid URL "${url}"`;
    }
    if (str(settings, 'recipient').trim() === '' && url === SLACK_API_URL) {
      return 'recipient must be specified when using the Slack chat API';
    }
    const mention = str(settings, 'mentionChannel');
    if (mention !== '' && mention !== 'here' && mention !== 'channel') {
      return `invalid value for mentionChannel: "${mention}"`;
    }
    if (str(settings, 'token') === '' && url === SLACK_API_URL) {
      return 'token must be specified when using the Slack chat API';
    }
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/** aws-sdk-go aws/arn/arn.go Parse: "arn:" prefix, six ':'-sections, partition, service and resource set. */
export function arnParseError(arn: string): string | null {
  if (!arn.startsWith('arn:')) {
    return 'arn: invalid prefix';
  }
  const sections = arn.split(':');
  const six = [...sections.slice(0, 5), sections.slice(5).join(':')];
  if (sections.length < 6) {
    return 'arn: not enough sections';
  }
  if (six[1] === '') {
    return 'arn: invalid partition';
  }
  if (six[2] === '') {
    return 'arn: invalid service';
  }
  if (six[5] === '') {
    return 'arn: invalid resource';
  }
  return null;
}

/** receivers/sns/v1/config.go NewConfig: the errors it returns, in its order. */
export function snsConfigError(settings: Settings): string | null {
  try {
    const topicArn = str(settings, 'topic_arn');
    const targetArn = str(settings, 'target_arn');
    if (topicArn !== '' && arnParseError(topicArn)) {
      return 'invalid topic ARN provided';
    }
    if (targetArn !== '' && arnParseError(targetArn)) {
      return 'invalid target ARN provided';
    }
    if (topicArn === '' && targetArn === '' && str(settings, 'phone_number') === '') {
      return 'must specify topicArn, targetArn, or phone number';
    }
    const sigv4 = (settings.sigv4 ?? {}) as Settings;
    const accessKey = str(sigv4, 'access_key');
    const secretKey = str(sigv4, 'secret_key');
    if ((accessKey === '') !== (secretKey === '')) {
      return 'must specify both access key and secret key';
    }
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

const VALIDATORS: Record<string, (s: Settings) => string | null> = {
  slack: slackConfigError,
  sns: snsConfigError,
};

export interface ProvisionedReceiver {
  uid?: unknown;
  type?: unknown;
  settings?: unknown;
}

/** ReceiverV1.mapToModel followed by the integration's NewConfig: null when Grafana accepts it. */
export function receiverError(contactPoint: string, r: ProvisionedReceiver): string | null {
  const uid = typeof r.uid === 'string' ? r.uid.trim() : '';
  if (uid === '') {
    return `${contactPoint}: no uid is set`;
  }
  const type = typeof r.type === 'string' ? r.type.trim() : '';
  if (type === '') {
    return `${contactPoint}: no type is set`;
  }
  const settings = (r.settings ?? {}) as Settings;
  if (Object.keys(settings).length === 0) {
    return `${contactPoint}: no settings are set`;
  }
  const validate = VALIDATORS[type];
  if (!validate) {
    return `${contactPoint}: integration ${type} is not one Flowlens ships (no rules restated for it)`;
  }
  const err = validate(settings);
  return err === null ? null : `${contactPoint}: ${err}`;
}
