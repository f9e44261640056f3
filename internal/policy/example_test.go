package policy_test

import (
	"fmt"

	"github.com/shadowload/shadowload/internal/policy"
)

func ExampleSet_Allowed() {
	doc, err := policy.Parse([]byte(`{
	  "Version": "2012-10-17",
	  "Statement": [
	    {"Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"],
	     "Resource": "arn:aws:iot:*:*:topic/$aws/things/${iot:Connection.Thing.ThingName}/shadow/*"},
	    {"Effect": "Deny", "Action": "iot:Publish",
	     "Resource": "arn:aws:iot:*:*:topic/$aws/things/*/shadow/delete"}
	  ]
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	set := policy.NewSet(doc)
	c := &policy.Context{ClientID: "lamp-1", ThingName: "lamp-1"}
	fmt.Println(set.Allowed(policy.Publish, "$aws/things/lamp-1/shadow/update", c))
	fmt.Println(set.Allowed(policy.Publish, "$aws/things/lamp-1/shadow/delete", c))
	fmt.Println(set.Allowed(policy.Receive, "$aws/things/lamp-2/shadow/update/accepted", c))
	// Output:
	// true
	// false
	// false
}

func ExampleParse_error() {
	_, err := policy.Parse([]byte(`{"Version":"2012-10-17","Statement":[
	  {"Effect":"Allow","Action":"iot:Connect","Resource":"*"},
	  {"Effect":"Alow","Action":"iot:Publish","Resource":"*"}]}`))
	fmt.Println(err)
	// Output:
	// Statement[1].Effect: want "Allow" or "Deny", got "Alow"
}
