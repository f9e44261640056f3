// Package policy parses and evaluates AWS IoT Core policy documents.
//
// A policy document is compiled once by [Parse]: action names become a bit
// mask and every resource pattern becomes a list of literal, variable, star
// and question tokens. A [Set] holds the documents attached to one
// certificate and answers [Set.Allowed] for every CONNECT, PUBLISH,
// SUBSCRIBE filter and message delivery without allocating: the resource ARN
// is matched piece by piece and is never built as a string.
//
// Evaluation follows AWS: deny by default, an Allow grants, and any matching
// Deny wins over every Allow in every document of the set. In resource
// patterns `*` matches any run of characters including `/`, `?` matches
// exactly one character, and the MQTT wildcards `+` and `#` are ordinary
// characters. Policy variables such as ${iot:Connection.Thing.ThingName} are
// substituted from a [Context] and matched literally; a variable that cannot
// be resolved makes its pattern match nothing, for an Allow and a Deny alike.
//
// Conditions: Bool on iot:Connection.Thing.IsAttached; StringEquals and
// StringLike on iot:ClientId and iot:Connection.Thing.ThingName; IpAddress
// and NotIpAddress on aws:SourceIp (addresses or CIDR ranges, IPv4 or IPv6).
// [Set.DeniedBySourceIP] tells a refusal the client's address decided from
// any other.
package policy
