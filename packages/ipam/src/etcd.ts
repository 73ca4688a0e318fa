// A separate entry so that plugins using the file store never load the gRPC client.
export { EtcdStore, type EtcdStoreOptions } from './etcd-store.js';
