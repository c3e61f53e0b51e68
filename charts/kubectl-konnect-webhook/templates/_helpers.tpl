{{- define "konnect.name" -}}kubectl-konnect-webhook{{- end -}}

{{/* Labels of config/ (kustomize's labels), plus Helm's own. */}}
{{- define "konnect.labels" -}}
app.kubernetes.io/name: kubectl-konnect-webhook
app.kubernetes.io/part-of: kubectl-konnect
{{ include "konnect.helmLabels" . }}
{{- end -}}

{{/* Helm's own labels only: config/cert-manager's Issuer and Certificate carry no others. */}}
{{- define "konnect.helmLabels" -}}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "konnect.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{- define "konnect.selfManaged" -}}
{{- if eq .Values.certificates.mode "self-managed" -}}true{{- else if eq .Values.certificates.mode "cert-manager" -}}{{- else -}}
{{- fail (printf "certificates.mode %q: use self-managed or cert-manager" .Values.certificates.mode) -}}
{{- end -}}
{{- end -}}
