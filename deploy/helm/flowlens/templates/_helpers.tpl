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
