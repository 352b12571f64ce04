{{/*
Names, labels, the service catalogue and the merged per-service settings.
Every service's settings are `.Values.default` with `.Values.services.<name>` merged over it
(maps key by key, everything else replaced, a false or 0 included).
*/}}

{{- define "keelson.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "keelson.fullname" -}}
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

{{- define "keelson.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* "<fullname>-<suffix>", within the 63 characters of a DNS label. Takes (dict "root" $ "suffix" "…"). */}}
{{- define "keelson.resourceName" -}}
{{- printf "%s-%s" (include "keelson.fullname" .root) .suffix | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels: name + instance + component only (selectors are immutable). Takes (dict "root" $ "component" "…"). */}}
{{- define "keelson.selectorLabels" -}}
app.kubernetes.io/name: {{ include "keelson.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- end }}

{{/* The standard labels of every resource. Takes (dict "root" $ "component" "…"); component may be empty. */}}
{{- define "keelson.labels" -}}
helm.sh/chart: {{ include "keelson.chart" .root }}
{{ include "keelson.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: keelson
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- end }}

{{/*
What each service's code needs, fixed by apps/<name>/src/config.ts and main.ts rather than by
values: its port, which of PostgreSQL, Redis and Kafka it connects to, whether `main.js
migrate` has work to do (the gateway's is a no-op), and the services it calls over HTTP
(the gateway its upstreams; the cache-invalidator re-warms entries through orders).
*/}}
{{- define "keelson.catalog" -}}
gateway:
  port: 8080
  postgresql: false
  redis: true
  kafka: false
  migrates: false
  calls: [auth, orders, replay, cache-invalidator, benchmark]
auth:
  port: 3001
  postgresql: true
  redis: true
  kafka: true
  migrates: true
  calls: []
orders:
  port: 3002
  postgresql: true
  redis: true
  kafka: true
  migrates: true
  calls: []
replay:
  port: 3003
  postgresql: true
  redis: false
  kafka: true
  migrates: true
  calls: []
cache-invalidator:
  port: 3004
  postgresql: true
  redis: true
  kafka: true
  migrates: true
  calls: [orders]
benchmark:
  port: 3005
  postgresql: true
  redis: false
  kafka: false
  migrates: true
  calls: []
{{- end }}

{{/* The enabled services, in the catalogue's order, as a YAML list. */}}
{{- define "keelson.enabledServices" -}}
{{- $names := list }}
{{- range $name := list "gateway" "auth" "orders" "replay" "cache-invalidator" "benchmark" }}
{{- $svc := dict }}
{{- include "keelson.serviceInto" (dict "root" $ "name" $name "out" $svc) }}
{{- if $svc.enabled }}
{{- $names = append $names $name }}
{{- end }}
{{- end }}
{{- toYaml $names }}
{{- end }}

{{/*
Fills .out with the settings of service .name: `default` merged with `services.<name>`, the
image (chart-wide `image` merged with the service's), and from the catalogue: name, port,
uses (postgresql/redis/kafka), migrates, calls, plus resourceName.
Takes (dict "root" $ "name" "orders" "out" (dict)).
*/}}
{{- define "keelson.serviceInto" -}}
{{- $root := .root }}
{{- $out := .out }}
{{- $catalog := include "keelson.catalog" $root | fromYaml }}
{{- $facts := get $catalog .name }}
{{- $_ := mergeOverwrite $out (deepCopy $root.Values.default) (deepCopy (default (dict) (get $root.Values.services .name))) }}
{{- $image := mergeOverwrite (deepCopy $root.Values.image) (deepCopy (default (dict) $out.image)) }}
{{- if not $image.tag }}
{{- $_ := set $image "tag" $root.Chart.AppVersion }}
{{- end }}
{{- $_ := set $out "image" $image }}
{{- $_ := set $out "name" .name }}
{{- $_ := set $out "port" (int $facts.port) }}
{{- $_ := set $out "uses" (dict "postgresql" $facts.postgresql "redis" $facts.redis "kafka" $facts.kafka) }}
{{- $_ := set $out "migrates" $facts.migrates }}
{{- $_ := set $out "calls" $facts.calls }}
{{- $_ := set $out "resourceName" (include "keelson.resourceName" (dict "root" $root "suffix" .name)) }}
{{- end }}

{{/* The container image of a service (its merged `image`). */}}
{{- define "keelson.image" -}}
{{- if .digest }}
{{- printf "%s@%s" .repository .digest }}
{{- else }}
{{- printf "%s:%s" .repository (toString .tag) }}
{{- end }}
{{- end }}

{{/* In-cluster URL of a service: (dict "root" $ "name" "orders"). */}}
{{- define "keelson.serviceUrl" -}}
{{- $catalog := include "keelson.catalog" .root | fromYaml }}
{{- printf "http://%s.%s.svc:%d" (include "keelson.resourceName" (dict "root" .root "suffix" .name)) .root.Release.Namespace (int (get $catalog .name).port) }}
{{- end }}

{{/*
The issuer of access tokens: the gateway's public URL. Auth signs with it and the gateway
checks it, so both get the same value.
*/}}
{{- define "keelson.publicUrl" -}}
{{- if .Values.api.publicUrl }}
{{- .Values.api.publicUrl }}
{{- else if and .Values.ingress.enabled .Values.ingress.hosts }}
{{- $host := (first .Values.ingress.hosts).host }}
{{- printf "%s://%s" (ternary "https" "http" (gt (len .Values.ingress.tls) 0)) $host }}
{{- else }}
{{- include "keelson.serviceUrl" (dict "root" . "name" "gateway") }}
{{- end }}
{{- end }}

{{/* An environment value as a string: numbers and booleans as JSON (1048576, not 1.048576e+06). */}}
{{- define "keelson.envValue" -}}
{{- if kindIs "string" . }}{{ . }}{{ else }}{{ toJson . }}{{ end }}
{{- end }}

{{/*
The service's non-secret environment (its ConfigMap), as YAML. `env` from values is applied
last, so it can replace any of these. Takes (dict "root" $ "svc" $svc).
*/}}
{{- define "keelson.configData" -}}
{{- $root := .root }}
{{- $svc := .svc }}
{{- $data := dict "LOG_LEVEL" $svc.logLevel "OTEL_TRACES_EXPORTER" $svc.tracing.exporter "OTEL_TRACES_SAMPLER_RATIO" (include "keelson.envValue" $svc.tracing.samplerRatio) }}
{{- if $svc.tracing.otlpEndpoint }}
{{- $_ := set $data "OTEL_EXPORTER_OTLP_ENDPOINT" $svc.tracing.otlpEndpoint }}
{{- end }}
{{- if $svc.uses.postgresql }}
{{- $_ := set $data "DATABASE_HOST" $svc.postgresql.host }}
{{- $_ := set $data "DATABASE_PORT" (include "keelson.envValue" $svc.postgresql.port) }}
{{- $_ := set $data "DATABASE_NAME" $svc.postgresql.database }}
{{- $_ := set $data "DATABASE_USER" $svc.postgresql.user }}
{{- $_ := set $data "DATABASE_POOL_SIZE" (include "keelson.envValue" $svc.postgresql.poolSize) }}
{{- end }}
{{- if $svc.uses.redis }}
{{- $_ := set $data "REDIS_HOST" $svc.redis.host }}
{{- $_ := set $data "REDIS_PORT" (include "keelson.envValue" $svc.redis.port) }}
{{- end }}
{{- if $svc.uses.kafka }}
{{- $_ := set $data "KAFKA_BROKERS" (join "," $svc.kafka.brokers) }}
{{- end }}
{{- if eq $svc.name "gateway" }}
{{- range $callee := $svc.calls }}
{{- $_ := set $data (printf "%s_URL" (upper (replace "-" "_" $callee))) (include "keelson.serviceUrl" (dict "root" $root "name" $callee)) }}
{{- end }}
{{- end }}
{{- if or (eq $svc.name "gateway") (eq $svc.name "auth") }}
{{- $_ := set $data "AUTH_ISSUER" (include "keelson.publicUrl" $root) }}
{{- $_ := set $data "AUTH_AUDIENCE" $root.Values.api.audience }}
{{- end }}
{{- if eq $svc.name "cache-invalidator" }}
{{- /* Re-warm hot entries through the orders Service; off when orders is not part of this release. */}}
{{- $orders := dict }}
{{- include "keelson.serviceInto" (dict "root" $root "name" "orders" "out" $orders) }}
{{- if $orders.enabled }}
{{- $url := include "keelson.serviceUrl" (dict "root" $root "name" "orders") }}
{{- $_ := set $data "CACHE_WARM_URLS" (printf "orders:order=%s/api/v1/orders/{id},orders:customer=%s/api/v1/customers/{id}" $url $url) }}
{{- else }}
{{- $_ := set $data "CACHE_WARM_URLS" "" }}
{{- end }}
{{- end }}
{{- range $key, $value := $svc.env }}
{{- $_ := set $data $key (include "keelson.envValue" $value) }}
{{- end }}
{{- toYaml $data }}
{{- end }}

{{/*
The credentials the chart stores in the service's Secret, as YAML (plain values). A credential
with an existingSecret is not stored; an empty password is not set at all (the service's own
default applies). Takes (dict "svc" $svc).
*/}}
{{- define "keelson.secretData" -}}
{{- $svc := .svc }}
{{- $data := dict }}
{{- if and $svc.uses.postgresql (not $svc.postgresql.existingSecret) $svc.postgresql.password }}
{{- $_ := set $data "DATABASE_PASSWORD" $svc.postgresql.password }}
{{- end }}
{{- if and $svc.uses.redis (not $svc.redis.existingSecret) $svc.redis.password }}
{{- $_ := set $data "REDIS_PASSWORD" $svc.redis.password }}
{{- end }}
{{- if $data }}
{{- toYaml $data }}
{{- end }}
{{- end }}

{{/*
Container env entries for the credentials: from the existingSecret when one is named, else
from the chart's Secret .secretName. Takes (dict "svc" $svc "secretName" "…").
*/}}
{{- define "keelson.secretEnv" -}}
{{- $svc := .svc }}
{{- if $svc.uses.postgresql }}
{{- if $svc.postgresql.existingSecret }}
- name: DATABASE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $svc.postgresql.existingSecret }}
      key: {{ $svc.postgresql.existingSecretKey }}
{{- else if $svc.postgresql.password }}
- name: DATABASE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: DATABASE_PASSWORD
{{- end }}
{{- end }}
{{- if $svc.uses.redis }}
{{- if $svc.redis.existingSecret }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $svc.redis.existingSecret }}
      key: {{ $svc.redis.existingSecretKey }}
{{- else if $svc.redis.password }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: REDIS_PASSWORD
{{- end }}
{{- end }}
{{- end }}

{{/*
The container env set on the pod itself rather than in the ConfigMap: the listener (all
interfaces, the catalogue's port) and the shutdown timing the pod's grace period is derived from.
*/}}
{{- define "keelson.runtimeEnv" -}}
- name: HOST
  value: "0.0.0.0"
- name: PORT
  value: {{ .port | quote }}
- name: SHUTDOWN_GRACE_MS
  value: {{ int .shutdown.graceMs | quote }}
- name: SHUTDOWN_DRAIN_DELAY_MS
  value: {{ int .shutdown.drainDelayMs | quote }}
{{- end }}

{{/*
terminationGracePeriodSeconds: the preStop sleep, then the app's own deadline after SIGTERM
(SHUTDOWN_GRACE_MS, which includes the drain delay), plus a margin before the kubelet's SIGKILL.
*/}}
{{- define "keelson.terminationGracePeriodSeconds" -}}
{{- $graceSeconds := div (add (int .shutdown.graceMs) 999) 1000 }}
{{- add (int .shutdown.preStopSleepSeconds) $graceSeconds (int .shutdown.marginSeconds) }}
{{- end }}

{{/* The pod-level security context and the container one (restricted Pod Security Standard). */}}
{{- define "keelson.podSecurityContext" -}}
{{- toYaml .podSecurityContext }}
{{- end }}

{{- define "keelson.containerSecurityContext" -}}
{{- toYaml .securityContext }}
{{- end }}

{{/*
What the chart refuses to render. Called once, from deployments.yaml.
*/}}
{{- define "keelson.validate" -}}
{{- range $name := include "keelson.enabledServices" . | fromYamlArray }}
{{- $svc := dict }}
{{- include "keelson.serviceInto" (dict "root" $ "name" $name "out" $svc) }}
{{- if and $svc.autoscaling.enabled $svc.keda.enabled }}
{{- fail (printf "services.%s: autoscaling (HPA) and keda are both enabled; a KEDA ScaledObject creates its own HPA, so enable exactly one" $name) }}
{{- end }}
{{- if and $svc.autoscaling.enabled (not (dig "requests" "cpu" "" $svc.resources)) }}
{{- fail (printf "services.%s: autoscaling scales on CPU utilisation, which needs resources.requests.cpu" $name) }}
{{- end }}
{{- if and $svc.autoscaling.enabled (gt (int $svc.autoscaling.minReplicas) (int $svc.autoscaling.maxReplicas)) }}
{{- fail (printf "services.%s: autoscaling.minReplicas is above maxReplicas" $name) }}
{{- end }}
{{- if and $svc.autoscaling.enabled $svc.autoscaling.customMetric.enabled (or (not $svc.autoscaling.customMetric.name) (not $svc.autoscaling.customMetric.targetAverageValue)) }}
{{- fail (printf "services.%s: autoscaling.customMetric needs a name and a targetAverageValue" $name) }}
{{- end }}
{{- if and $svc.keda.enabled (not $svc.uses.kafka) }}
{{- fail (printf "services.%s: keda scales on Kafka consumer lag, and %s does not consume from Kafka" $name $name) }}
{{- end }}
{{- if and $svc.keda.enabled (gt (int $svc.keda.minReplicaCount) (int $svc.keda.maxReplicaCount)) }}
{{- fail (printf "services.%s: keda.minReplicaCount is above maxReplicaCount" $name) }}
{{- end }}
{{- if and $svc.keda.enabled (not (include "keelson.consumerGroup" $svc)) }}
{{- fail (printf "services.%s: keda needs keda.consumerGroup (%s has no standing consumer group of its own)" $name $name) }}
{{- end }}
{{- if ge (int $svc.shutdown.drainDelayMs) (int $svc.shutdown.graceMs) }}
{{- fail (printf "services.%s: shutdown.drainDelayMs must be below shutdown.graceMs (the grace period counts from SIGTERM and includes the drain)" $name) }}
{{- end }}
{{- end }}
{{- if .Values.ingress.enabled }}
{{- if not .Values.ingress.hosts }}
{{- fail "ingress.hosts: at least one host is needed when the Ingress is enabled" }}
{{- end }}
{{- $gateway := dict }}
{{- include "keelson.serviceInto" (dict "root" $ "name" "gateway" "out" $gateway) }}
{{- if not $gateway.enabled }}
{{- fail "ingress.enabled: the Ingress routes to the gateway, which is disabled" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The Kafka consumer group KEDA reads the lag of: keda.consumerGroup, else for the
cache-invalidator its INVALIDATOR_GROUP_ID (env, else the service's default).
*/}}
{{- define "keelson.consumerGroup" -}}
{{- if .keda.consumerGroup }}
{{- .keda.consumerGroup }}
{{- else if eq .name "cache-invalidator" }}
{{- default "cache-invalidator" .env.INVALIDATOR_GROUP_ID }}
{{- end }}
{{- end }}

{{/* "host:port" → port, for NetworkPolicy rules derived from connection settings. */}}
{{- define "keelson.portOf" -}}
{{- last (splitList ":" .) }}
{{- end }}

{{/* Labels prometheus-operator selects ServiceMonitors and PrometheusRules by (may be empty). */}}
{{- define "keelson.monitoringLabels" -}}
{{- $labels := deepCopy .Values.monitoring.labels }}
{{- with .Values.monitoring.release }}
{{- $_ := set $labels "release" . }}
{{- end }}
{{- with $labels }}
{{- toYaml . }}
{{- end }}
{{- end }}

{{/*
Egress rules to DNS and to the PostgreSQL, Redis and Kafka a service uses, on the ports of its
connection settings. Takes (dict "root" $ "svc" $svc).
*/}}
{{- define "keelson.dependencyEgress" -}}
{{- $np := .root.Values.networkPolicy }}
{{- $svc := .svc -}}
- ports:
    {{- toYaml $np.dns.ports | nindent 4 }}
  {{- with $np.dns.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- if $svc.uses.postgresql }}
- ports:
    - port: {{ int $svc.postgresql.port }}
      protocol: TCP
  {{- with $np.postgresqlTo }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- if $svc.uses.redis }}
- ports:
    - port: {{ int $svc.redis.port }}
      protocol: TCP
  {{- with $np.redisTo }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- if $svc.uses.kafka }}
- ports:
    {{- $ports := list }}
    {{- range $broker := $svc.kafka.brokers }}
    {{- $ports = append $ports (include "keelson.portOf" $broker) }}
    {{- end }}
    {{- range $port := uniq $ports }}
    - port: {{ $port }}
      protocol: TCP
    {{- end }}
  {{- with $np.kafkaTo }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- end }}

{{/* The port of the OTLP endpoint (its URL's port, else 443/80 by scheme). */}}
{{- define "keelson.otlpPort" -}}
{{- $url := urlParse (default "http://127.0.0.1:4318" .tracing.otlpEndpoint) }}
{{- $hostPort := splitList ":" $url.host }}
{{- if gt (len $hostPort) 1 }}
{{- last $hostPort }}
{{- else }}
{{- ternary "443" "80" (eq $url.scheme "https") }}
{{- end }}
{{- end }}
