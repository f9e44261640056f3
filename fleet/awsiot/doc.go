// Package awsiot provisions, finds and tears down a shadowload fleet in an
// AWS IoT Core account through the AWS SDK for Go v2, or in the emulator's
// HTTP API, which serves the same operations: pointing the endpoint URL at
// it runs the same code.
//
// Provisioning creates one policy, then per thing a thing, keys and an
// ACTIVE certificate made by AWS (CreateKeysAndCertificate), and attaches
// the policy to the certificate and the certificate to the thing. Each
// thing's bundle is written as fleet writes the emulator's, the private
// key with mode 0600 and never logged; the manifest records the data
// endpoint, the Region and the policy it created. Calls are paced under
// the account's control-plane quotas, and throttling is retried by the
// SDK's retryer with backoff and jitter.
//
// Provisioning is resumable: a journal in the bundles directory records,
// before each CreateKeysAndCertificate, that a certificate is being made,
// and each thing once it is complete. A run started again skips complete
// things, reuses bundles already written, and looks for the certificate a
// killed run may have made without saving its key (AWS shows a private key
// once): unattached certificates created around the interruption and known
// to no bundle are deleted, when there are no more of them than
// interrupted requests. So a resumed run ends with exactly one thing and
// one certificate per name, never duplicates.
//
// Deprovisioning reverses it from the manifest: each thing's shadows
// (classic and named, through the data plane), its certificate (detached,
// deactivated, deleted), the thing, then the policies provisioning
// created. What is already gone counts as removed; what cannot be removed
// is reported and stays in the manifest, so running it again finishes the
// job.
package awsiot
