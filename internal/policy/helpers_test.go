package policy

import "testing"

// perThingPolicy is the default per-thing policy that the fleet package
// attaches to every thing's certificate.
const perThingPolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": "iot:Connect",
     "Resource": "arn:aws:iot:*:*:client/${iot:Connection.Thing.ThingName}"},
    {"Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"],
     "Resource": "arn:aws:iot:*:*:topic/$aws/things/${iot:Connection.Thing.ThingName}/shadow/*"},
    {"Effect": "Allow", "Action": "iot:Subscribe",
     "Resource": "arn:aws:iot:*:*:topicfilter/$aws/things/${iot:Connection.Thing.ThingName}/shadow/*"}
  ]
}`

func mustParse(tb testing.TB, doc string) *Document {
	tb.Helper()
	d, err := Parse([]byte(doc))
	if err != nil {
		tb.Fatalf("Parse: %v\n%s", err, doc)
	}
	return d
}

// stmt returns a one-statement document.
func stmt(effect, action, resource string) string {
	return `{"Version":"2012-10-17","Statement":{"Effect":"` + effect + `","Action":` + action + `,"Resource":` + resource + `}}`
}

func thing(name string) *Context {
	return &Context{ClientID: name, ThingName: name, CommonName: "AWS IoT Certificate"}
}
