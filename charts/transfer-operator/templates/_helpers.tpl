{{/* The chart name, or nameOverride. */}}
{{- define "transfer-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name: fullnameOverride, else <release>-<name> (just <release> if it already
contains the name). Truncated to 63 characters (the DNS label limit).
*/}}
{{- define "transfer-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* chart-version, for the helm.sh/chart label. */}}
{{- define "transfer-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object the chart creates. */}}
{{- define "transfer-operator.labels" -}}
helm.sh/chart: {{ include "transfer-operator.chart" . }}
{{ include "transfer-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: transfer-operator
{{- end }}

{{/* The stable subset used in selectors (never change these on upgrade). */}}
{{- define "transfer-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "transfer-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The ServiceAccount's name. */}}
{{- define "transfer-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "transfer-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* repository:tag, the tag defaulting to the chart's appVersion. */}}
{{- define "transfer-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
The rules the operator needs on TransferRequests in the namespaces it watches, each
established by running the operator as its ServiceAccount against a real API server
(tests/deploy): every verb here was a 403 in its log without it.
  get            the operator re-reads a request before each status transition
  list, watch    kopf's watch stream of TransferRequests
  patch          kopf's finalizer and bookkeeping annotations; the dead-letter label
  status: patch  phase, progress and conditions (merge patch on /status)
  events: create kopf.event() -> POST core/v1 events (Started, Succeeded, DeadLettered...)
  secrets: get   credentialsSecretRef (rbac.readSecrets)
*/}}
{{- define "transfer-operator.namespacedRules" -}}
- apiGroups: ["transfer.dev"]
  resources: ["transferrequests"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["transfer.dev"]
  resources: ["transferrequests/status"]
  verbs: ["patch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
{{- if .Values.rbac.readSecrets }}
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get"]
{{- end }}
{{- end }}

{{/*
Cluster-scoped reads kopf itself makes (also established from 403s in its log):
  customresourcedefinitions: list, watch   kopf's resource observer (notices CRD changes);
                                           without it kopf retries the 403 for ~1 min, then
                                           logs a warning and stops noticing CRD changes
  namespaces: list, watch                  only with watchNamespaces: kopf lists and watches
                                           namespaces to match its namespace patterns; without
                                           it, it retries for ~1 min before handling anything
*/}}
{{- define "transfer-operator.crdRules" -}}
- apiGroups: ["apiextensions.k8s.io"]
  resources: ["customresourcedefinitions"]
  verbs: ["list", "watch"]
{{- end }}
