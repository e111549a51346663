{{/*
Names and labels shared by the templates. The chart keeps to a small part of Go templates
(values, include, if/else, toYaml, nindent, quote, default, trunc, trimSuffix, printf,
required, fail, not/and/or, contains), which scripts/check_deploy.py can render without helm.
*/}}

{{- define "latchkey.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "latchkey.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains (include "latchkey.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "latchkey.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "latchkey.selectorLabels" -}}
app.kubernetes.io/name: {{ include "latchkey.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "latchkey.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | trunc 63 | trimSuffix "-" }}
{{ include "latchkey.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "latchkey.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "latchkey.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "latchkey.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* Whether the chart makes its own Secret: some secret value given without an existing Secret. */}}
{{- define "latchkey.ownSecret" -}}
{{- if and .Values.database.url (not .Values.database.existingSecret) }}true{{ end }}
{{- if and .Values.masterKey.value (not .Values.masterKey.existingSecret) }}true{{ end }}
{{- if and .Values.bootstrapApiKey.value (not .Values.bootstrapApiKey.existingSecret) }}true{{ end }}
{{- end }}
