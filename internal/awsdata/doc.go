// Package awsdata is a small client of the AWS IoT data plane (the
// iot-data API: Get, Update and DeleteThingShadow, ListNamedShadowsForThing,
// Publish) over net/http, signing each request with SigV4 through the AWS
// SDK's signer. It takes its credentials, region, HTTP client and retryer
// from an aws.Config, so the standard credential chain, profiles and
// custom CA bundles apply as they do to the SDK's own clients; the SDK's
// data-plane module is not used.
//
// Errors from the service are *APIError values carrying AWS's error type
// (ResourceNotFoundException, ThrottlingException, ...) read the way the
// SDK reads them: the x-amzn-ErrorType header first, then the JSON body.
// They implement smithy.APIError, so the SDK's retryer recognises
// throttling and server faults, and the client retries those with the
// retryer's backoff.
package awsdata
