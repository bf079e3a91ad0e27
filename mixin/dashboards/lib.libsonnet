// Small builders for classic Grafana dashboard JSON (schemaVersion 39): panels on the 24-column
// grid, Prometheus targets, the datasource/job/instance variables every dashboard has.
{
  datasource:: { type: 'prometheus', uid: '${datasource}' },

  // The series of the exporters chosen in the $job and $instance variables (multi-select).
  chosen:: 'job=~"$job", instance=~"$instance"',

  target(expr, legend='__auto', refId='A', instant=false, table=false):: {
    datasource: $.datasource,
    refId: refId,
    expr: expr,
    legendFormat: legend,
    range: !instant,
    instant: instant,
    [if table then 'format']: 'table',
  },

  // A panel at grid cell (x, y) of size w x h. `targets` get refIds A, B, ... in order.
  panel(type, title, description, pos, targets, defaults={}, overrides=[], options={}, transformations=[]):: {
    type: type,
    title: title,
    description: description,
    datasource: $.datasource,
    gridPos: { x: pos[0], y: pos[1], w: pos[2], h: pos[3] },
    targets: [
      targets[i] { refId: std.char(std.codepoint('A') + i) }
      for i in std.range(0, std.length(targets) - 1)
    ],
    fieldConfig: { defaults: defaults, overrides: overrides },
    options: options,
    [if transformations != [] then 'transformations']: transformations,
  },

  reduceLast:: { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false } },

  steps(list):: { mode: 'absolute', steps: [{ color: s[0], value: s[1] } for s in list] },

  valueMappings(list):: [{
    type: 'value',
    options: {
      [std.toString(list[i][0])]: { text: list[i][1], color: list[i][2], index: i }
      for i in std.range(0, std.length(list) - 1)
    },
  }],

  // Item statuses as one number per item (its series of readiness_item_status summed with
  // weights): 4 PASS, 3 PARTIAL, 2 FAIL, 1 PENDING, 0 N/A.
  statusCode(selector):: |||
    sum without (status, category, priority) (
      readiness_item_status{%(s)s, status="pass"} * 4
      or readiness_item_status{%(s)s, status="partial"} * 3
      or readiness_item_status{%(s)s, status="fail"} * 2
      or readiness_item_status{%(s)s, status="pending"}
    )
  ||| % { s: selector },
  statusMappings:: $.valueMappings([
    [4, 'PASS', 'green'],
    [3, 'PARTIAL', 'yellow'],
    [2, 'FAIL', 'red'],
    [1, 'PENDING', 'blue'],
    [0, 'N/A', 'text'],
  ]),

  // The decision as one number per exporter: 2 GO, 1 GO WITH CAUTION, 0 NO-GO.
  decisionCode(selector):: |||
    sum without (decision) (
      readiness_decision{%(s)s, decision="go"} * 2
      or readiness_decision{%(s)s, decision="go_with_caution"}
    )
  ||| % { s: selector },
  decisionMappings:: $.valueMappings([
    [2, 'GO', 'green'],
    [1, 'GO WITH CAUTION', 'orange'],
    [0, 'NO-GO', 'red'],
  ]),

  // Each exporter's web address, for links to its item pages: its external URL
  // (readiness_exporter_web_info, without a trailing slash) or, from an exporter that does not
  // export one, http:// and the scrape address.
  exporterURL(selector):: |||
    label_replace(readiness_exporter_web_info{%(s)s, external_url!=""}, "external_url", "$1", "external_url", "(.*?)/*")
    or on (job, instance)
    label_replace(readiness_exporter_build_info{%(s)s}, "external_url", "http://$1", "instance", "(.*)")
  ||| % { s: selector },

  // The dashboard links to the item detail and fleet dashboards keep the chosen variables.
  itemDetailURL:: '/d/readiness-item/readiness-item-detail?${datasource:queryparam}&var-job=${__data.fields.job}&var-instance=${__data.fields.instance}&var-item=${__value.raw}&${__url_time_range}',

  hidden(names):: [
    { matcher: { id: 'byName', options: n }, properties: [{ id: 'custom.hidden', value: true }] }
    for n in names
  ],

  variables(selector, extra=[]):: [
    {
      name: 'datasource',
      label: 'Data source',
      type: 'datasource',
      query: 'prometheus',
      current: {},
      hide: 0,
      refresh: 1,
      regex: '',
      options: [],
    },
    $.queryVariable('job', 'Job', 'label_values(readiness_exporter_build_info{%s}, job)' % selector),
    $.queryVariable('instance', 'Instance', 'label_values(readiness_exporter_build_info{%s, job=~"$job"}, instance)' % selector),
  ] + extra,

  queryVariable(name, label, query, multi=true):: {
    name: name,
    label: label,
    type: 'query',
    datasource: $.datasource,
    query: query,
    definition: query,
    current: {},
    hide: 0,
    refresh: 2,
    sort: 1,
    multi: multi,
    includeAll: multi,
    regex: '',
    options: [],
  },

  dashboard(c, uid, title, description, variables, panels, time='now-24h'):: {
    uid: uid,
    title: title,
    description: description,
    tags: c.dashboardTags,
    timezone: c.dashboardTimezone,
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    refresh: c.dashboardRefresh,
    time: { from: time, to: 'now' },
    templating: { list: variables },
    annotations: { list: [] },
    links: [{
      title: 'Readiness dashboards',
      type: 'dashboards',
      tags: c.dashboardTags,
      asDropdown: true,
      includeVars: true,
      keepTime: true,
    }],
    panels: [panels[i] { id: i + 1 } for i in std.range(0, std.length(panels) - 1)],
  },
}
