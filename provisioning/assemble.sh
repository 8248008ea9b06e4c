#!/bin/sh
# Assembles the Grafana provisioning directory Flowlens needs, from this folder, for the
# environment Grafana runs with:
#   sh provisioning/assemble.sh SOURCE_DIR TARGET_DIR
# Always: datasources/, plugins/, dashboards/ and alerting/ (rules, message templates).
# Only when configured, because Grafana validates every provisioned integration at startup and
# stops on an empty one: notifications/slack.yaml (FLOWLENS_SLACK_WEBHOOK_URL set),
# notifications/sns.yaml (FLOWLENS_SNS_TOPIC_ARN set), and notifications/policies.yaml (either).
# Point Grafana at TARGET_DIR (GF_PATHS_PROVISIONING). docker-compose.yaml runs this before Grafana;
# docs/alerting.md and docs/deploy.md describe it; tests/alerting/grafana-provisioning.test.ts runs it.
set -eu
if [ $# -ne 2 ]; then
  echo "usage: $0 SOURCE_DIR TARGET_DIR" >&2
  exit 2
fi
src=$1
dest=$2
rm -rf "$dest"
mkdir -p "$dest"
for part in datasources plugins dashboards alerting; do
  cp -R "$src/$part" "$dest/$part"
done
notify=''
if [ -n "${FLOWLENS_SLACK_WEBHOOK_URL:-}" ]; then
  cp "$src/notifications/slack.yaml" "$dest/alerting/flowlens-slack.yaml"
  notify="$notify Slack"
fi
if [ -n "${FLOWLENS_SNS_TOPIC_ARN:-}" ]; then
  cp "$src/notifications/sns.yaml" "$dest/alerting/flowlens-sns.yaml"
  notify="$notify SNS"
fi
if [ -n "$notify" ]; then
  cp "$src/notifications/policies.yaml" "$dest/alerting/flowlens-policies.yaml"
  echo "flowlens: alert notifications to:$notify"
else
  echo "flowlens: FLOWLENS_SLACK_WEBHOOK_URL and FLOWLENS_SNS_TOPIC_ARN are unset: the alert rules load," \
    "no Flowlens contact point is provisioned (set either and restart Grafana to be notified)"
fi
