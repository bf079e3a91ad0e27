// The readiness-exporter monitoring mixin: _config, prometheusRules, prometheusAlerts and
// grafanaDashboards, as kubernetes-mixin and node-mixin lay them out.
(import 'config.libsonnet')
+ (import 'rules/rules.libsonnet')
+ (import 'alerts/alerts.libsonnet')
+ (import 'dashboards/dashboards.libsonnet')
