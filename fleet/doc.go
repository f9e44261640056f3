// Package fleet owns the identities of a shadowload fleet: the emulator's local
// certificate authority, one X.509 client certificate bundle per thing, the
// bundles directory and its manifest, and provisioning a fleet against a
// [Registrar] (the emulator's registry, or a real AWS account).
//
// Certificates follow AWS IoT Core conventions: a certificate is identified by
// the lowercase hex SHA-256 of its DER bytes, client certificates are valid until
// 2049-12-31, and each thing's bundle holds certificate.pem.crt, private.pem.key
// and public.pem.key. The subject of an issued client certificate is
// CN=<thing name>; nothing else in the subject and no subject alternative names.
//
// The package depends on the standard library only, so the emulator and the CLI
// can both import it.
package fleet
