export { assignPartitions, ownedPartitions } from './assign-partitions.js';
export { createMembership } from './membership.js';
export type { Membership, MembershipListener, MembershipOptions } from './membership.js';
export { parseMemberRecord } from './member-record.js';
export type { MemberRecord } from './member-record.js';
export { describeCluster } from './describe-cluster.js';
export type { ClusterMemberView, ClusterView, PartitionView } from './describe-cluster.js';
export { livenessSubject, natsPeerLiveness } from './peer-liveness.js';
export type { PeerAnswer, PeerLiveness, PeerLivenessOptions } from './peer-liveness.js';
