// Hive Gateway config for the benchmark's deduplication pass: identical in-flight inbound requests share
// one execution, as in the published benchmark's config.
export const gatewayConfig = {
  inboundInflightRequestDeduplication: true,
};
