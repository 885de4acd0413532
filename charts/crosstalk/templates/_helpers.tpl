{{/* The release's name prefix of every object, cluster-scoped ones included, so that two
releases never claim the same ClusterRole. */}}
{{- define "crosstalk.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "crosstalk.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one component (operator or agent). */}}
{{- define "crosstalk.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "crosstalk.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "crosstalk.operatorName" -}}{{ include "crosstalk.fullname" . }}-operator{{- end -}}
{{- define "crosstalk.agentName" -}}{{ include "crosstalk.fullname" . }}-agent{{- end -}}

{{/* The user name the API server sees for the agent's service-account token. */}}
{{- define "crosstalk.agentUser" -}}
system:serviceaccount:{{ .Release.Namespace }}:{{ include "crosstalk.agentName" . }}
{{- end -}}
