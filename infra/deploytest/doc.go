// Package deploytest is the seam test between infra/envs/production and the
// palisade binary: it reads what Terraform would ask AWS for (through the
// offline evaluator infra/tfeval) and checks that the application, run
// exactly as those task definitions and that Lambda function run it,
// starts, is allowed every AWS call it makes, and can reach every service it
// connects to. The package holds only tests; this file carries its
// documentation.
//
// What the tests do, and where AWS itself is stood in for:
//
//   - TestDeployment/boot/* boots the real binary (built once in TestMain)
//     for every ECS service and for `migrate` as the pipeline runs it (the
//     migrate task definition, first: as the master user it creates each
//     role's database user from the role secrets, and every role then
//     connects as its own user, so a missing grant fails its boot or its
//     flows; checkRoleUsers also proves the users have no DDL and cannot
//     delete audit events); flows/definitions
//     and flows/scan run both scanner functions' commands with the
//     image's ENV, starting their own clamd. Each gets exactly the environment of the task definition
//     and the secret names it injects. Secret values are test values; the
//     database is a private MariaDB that only accepts TLS, with a test CA
//     standing in for the RDS CA; Redis is a private redis-server on TLS
//     with each role's ElastiCache RBAC user created from Terraform's
//     access string (ACL SETUSER), so every role boots as its own Redis
//     user; S3 is versitygw behind the
//     recording proxy. A variable the code needs that Terraform does not set
//     fails here, named.
//   - TestDeployment/flows runs each role's flows through a recording proxy
//     that names the IAM action of every AWS request; TestDeployment/iam
//     evaluates each call with infra/iameval against the role's policies
//     from Terraform, the tenant bucket policy (with the object's ScanStatus
//     tag at the time of the call) and, for KMS, the key policy. Mocked AWS: SES,
//     Secrets Manager and KMS answer from the proxy itself (their requests
//     are named and recorded, not served by a real implementation); S3 is
//     real (versitygw) except the calls versitygw does not implement, which
//     are still recorded.
//   - TestNetworkPaths checks that every connection a role's configuration
//     makes (database, Redis, realtime API, internal ALB, AWS APIs on 443)
//     has a security-group path in Terraform, and that no egress rule is
//     left unused.
//   - TestTenantBucketPolicy evaluates the bucket policy that provisioning
//     writes (internal/files.Policy) against the roles Terraform creates.
//
// infra.TestDeploymentGuideNamesWhatExists checks that every command and
// variable docs/deployment-guide.md names exists.
//
// The Lambda runtime is not emulated: the scan function's command is run
// with -event on a recorded EventBridge event, which calls the same handler
// the runtime would.
package deploytest
