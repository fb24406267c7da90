// undici's own modules that registry/client/http.ts imports one by one (undici declares only its index);
// http.ts gives each the type it is used with.
declare module 'undici/lib/dispatcher/dispatcher.js' {
  const DispatcherBase: { prototype: object };
  export default DispatcherBase;
}
declare module 'undici/lib/api/index.js' {
  const api: object;
  export default api;
}
declare module 'undici/lib/dispatcher/agent.js' {
  const Agent: unknown;
  export default Agent;
}
declare module 'undici/lib/dispatcher/env-http-proxy-agent.js' {
  const EnvHttpProxyAgent: unknown;
  export default EnvHttpProxyAgent;
}
declare module 'undici/lib/core/connect.js' {
  const buildConnector: unknown;
  export default buildConnector;
}
