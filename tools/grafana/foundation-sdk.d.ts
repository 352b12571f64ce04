// The SDK publishes its entry points only through package.json "exports", which the
// workspace's moduleResolution (node10, tsconfig.base.json) does not read. Node and Jest
// resolve the subpaths at run time; these declarations give the type checker the same
// modules from the SDK's dist/ folder.
declare module '@grafana/grafana-foundation-sdk/cog' {
  export * from '@grafana/grafana-foundation-sdk/dist/cog';
}
declare module '@grafana/grafana-foundation-sdk/common' {
  export * from '@grafana/grafana-foundation-sdk/dist/common';
}
declare module '@grafana/grafana-foundation-sdk/dashboard' {
  export * from '@grafana/grafana-foundation-sdk/dist/dashboard';
}
declare module '@grafana/grafana-foundation-sdk/prometheus' {
  export * from '@grafana/grafana-foundation-sdk/dist/prometheus';
}
declare module '@grafana/grafana-foundation-sdk/stat' {
  export * from '@grafana/grafana-foundation-sdk/dist/stat';
}
declare module '@grafana/grafana-foundation-sdk/statetimeline' {
  export * from '@grafana/grafana-foundation-sdk/dist/statetimeline';
}
declare module '@grafana/grafana-foundation-sdk/table' {
  export * from '@grafana/grafana-foundation-sdk/dist/table';
}
declare module '@grafana/grafana-foundation-sdk/text' {
  export * from '@grafana/grafana-foundation-sdk/dist/text';
}
declare module '@grafana/grafana-foundation-sdk/timeseries' {
  export * from '@grafana/grafana-foundation-sdk/dist/timeseries';
}
