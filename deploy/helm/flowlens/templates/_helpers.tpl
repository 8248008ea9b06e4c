{{/* Chart name, truncated to the DNS label limit. */}}
{{- define "flowlens.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-scoped name prefix. */}}
{{- define "flowlens.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains (include "flowlens.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "flowlens.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* Helm's own labels are left out when the output is the kustomize base (plainManifests). */}}
{{- define "flowlens.labels" -}}
app.kubernetes.io/name: {{ include "flowlens.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- if not .Values.plainManifests }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}
{{- end }}

{{- define "flowlens.selectorLabels" -}}
app.kubernetes.io/name: {{ include "flowlens.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "flowlens.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "flowlens.tokenSecret" -}}
{{- .Values.tokens.existingSecret | default (printf "%s-hub-tokens" (include "flowlens.fullname" .)) }}
{{- end }}

{{- define "flowlens.hubUrl" -}}
http://{{ include "flowlens.fullname" . }}-hub.{{ .Release.Namespace }}.svc:{{ .Values.hub.port }}
{{- end }}

{{/* The agent's PriorityClass: the chart's own (priorityClass.create) or the one named. */}}
{{- define "flowlens.agentPriorityClass" -}}
{{- $pc := .Values.agent.priorityClass }}
{{- if $pc.create }}
{{- $pc.name | default (printf "%s-node-agent" (include "flowlens.fullname" .)) }}
{{- else }}
{{- $pc.name }}
{{- end }}
{{- end }}

{{/* This cluster's name (FLOWLENS_CLUSTER): `cluster`, else `global.cluster`; empty when neither is set. */}}
{{- define "flowlens.cluster" -}}
{{- .Values.cluster | default (.Values.global | default dict).cluster | default "" }}
{{- end }}

{{/* The FLOWLENS_CLUSTER env entry of both workloads, only when a name is set (else the hub's default). */}}
{{- define "flowlens.clusterEnv" -}}
{{- with (include "flowlens.cluster" .) -}}
- name: FLOWLENS_CLUSTER
  value: {{ . | quote }}
{{- end }}
{{- end }}

{{/* True (non-empty) when the hub stores flows in ClickHouse: stateless, any number of replicas. */}}
{{- define "flowlens.hubStateless" -}}
{{- if .Values.clickhouse.enabled }}true{{ end }}
{{- end }}

{{/*
The hub's --store value for ClickHouse (agent/src/store/clickhouse-config.ts parses it):
clickhouse[s]://USER@HOST:PORT/DATABASE[?cluster=NAME]. Never a password: that comes from the Secret.
*/}}
{{- define "flowlens.clickhouseUrl" -}}
{{- $c := .Values.clickhouse }}
{{- if hasKey $c "password" }}
{{- fail "flowlens: clickhouse.password is not a chart value (values end up in Helm's release record and in rendered manifests): put the password in a Secret and set clickhouse.existingSecret (and clickhouse.passwordKey)" }}
{{- end }}
{{- $url := "" }}
{{- if $c.url }}
{{- if regexMatch "^[a-z]+://[^/@]*:[^/@]*@" $c.url }}
{{- fail "flowlens: clickhouse.url must not carry a password (it would be in the rendered Deployment): put it in a Secret and set clickhouse.existingSecret" }}
{{- end }}
{{- if not (regexMatch "^clickhouses?://" $c.url) }}
{{- fail (printf "flowlens: clickhouse.url must start with clickhouse:// (or clickhouses:// for TLS), got %q" $c.url) }}
{{- end }}
{{- if contains "?" $c.url }}
{{- fail "flowlens: clickhouse.url takes no parameters: give the ClickHouse cluster name as clickhouse.cluster" }}
{{- end }}
{{- $url = $c.url }}
{{- else if $c.host }}
{{- $host := ternary (printf "[%s]" $c.host) $c.host (and (contains ":" $c.host) (not (hasPrefix "[" $c.host))) }}
{{- $url = printf "%s://%s@%s:%v/%s" (ternary "clickhouses" "clickhouse" (eq (toString $c.secure) "true")) (urlquery $c.user) $host $c.port $c.database }}
{{- else }}
{{- fail "flowlens: clickhouse.enabled needs clickhouse.url (clickhouse://USER@HOST:8123/DATABASE) or clickhouse.host" }}
{{- end }}
{{- if $c.cluster }}
{{- $url = printf "%s?cluster=%s" $url $c.cluster }}
{{- end }}
{{- $url }}
{{- end }}
