package fleet

// Default policy names used by Provision.
const (
	// DefaultThingPolicyName names DefaultThingPolicy when provisioning things.
	DefaultThingPolicyName = "shadowload-thing"
	// DefaultObserverPolicyName names DefaultObserverPolicy when provisioning
	// observers.
	DefaultObserverPolicyName = "shadowload-observer"
)

// DefaultThingPolicy is the least-privilege policy of a simulated device: it
// may connect only with its own thing name as client ID, and publish,
// subscribe and receive only on its own shadow topics. A policy "*" matches
// across "/", so ".../shadow/*" covers the classic shadow and named shadows
// (".../shadow/name/NAME/...") alike.
const DefaultThingPolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": "iot:Connect",
      "Resource": "arn:aws:iot:*:*:client/${iot:Connection.Thing.ThingName}"
    },
    {
      "Effect": "Allow",
      "Action": "iot:Publish",
      "Resource": "arn:aws:iot:*:*:topic/$aws/things/${iot:Connection.Thing.ThingName}/shadow/*"
    },
    {
      "Effect": "Allow",
      "Action": "iot:Subscribe",
      "Resource": "arn:aws:iot:*:*:topicfilter/$aws/things/${iot:Connection.Thing.ThingName}/shadow/*"
    },
    {
      "Effect": "Allow",
      "Action": "iot:Receive",
      "Resource": "arn:aws:iot:*:*:topic/$aws/things/${iot:Connection.Thing.ThingName}/shadow/*"
    }
  ]
}
`

// DefaultObserverPolicy is the policy of an observer, the application side
// that watches the whole fleet and writes desired state.
//
// Provision registers observers as things too (observer-00, ...), so their
// certificates are attached to a thing like any device's and the
// ${iot:Connection.Thing.*} variables resolve for them. Connect is granted on
// client/${iot:ClientId}, any client ID, so one observer identity may open
// several connections under distinct client IDs (one per harness shard, say).
// Subscribe is granted on the wildcard filters an observer uses, written as
// the literal filters ("+" and "#" are plain characters in a policy), Receive
// on every topic, and Publish on every thing's shadow topics.
const DefaultObserverPolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": "iot:Connect",
      "Resource": "arn:aws:iot:*:*:client/${iot:ClientId}"
    },
    {
      "Effect": "Allow",
      "Action": "iot:Subscribe",
      "Resource": [
        "arn:aws:iot:*:*:topicfilter/$aws/things/+/shadow/*",
        "arn:aws:iot:*:*:topicfilter/#",
        "arn:aws:iot:*:*:topicfilter/$aws/things/*"
      ]
    },
    {
      "Effect": "Allow",
      "Action": "iot:Receive",
      "Resource": "arn:aws:iot:*:*:topic/*"
    },
    {
      "Effect": "Allow",
      "Action": "iot:Publish",
      "Resource": "arn:aws:iot:*:*:topic/$aws/things/*/shadow/*"
    }
  ]
}
`
