package policy

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestParseRejectsMalformedDocumentsNamingTheField(t *testing.T) {
	const v = `"Version":"2012-10-17",`
	tests := []struct {
		name, doc, want string
	}{
		{"syntax error has line and column", "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n}", "line 4, column 1: invalid character '}'"},
		{"truncated document", `{"Version":`, "line 1, column 11: unexpected end of JSON input"},
		{"trailing data", `{"Version":"2012-10-17"} x`, "line 1, column 26: invalid character 'x' after top-level value"},
		{"document not an object", `[1]`, "policy document: want an object, got array"},
		{"unknown top-level key", `{` + v + `"Statements":[]}`, `Statements: unknown policy document key; want one of Version, Statement, Id`},
		{"missing version", `{"Statement":[]}`, `Version: missing; want "2012-10-17"`},
		{"old version", `{"Version":"2008-10-17","Statement":[]}`, `Version: want "2012-10-17", got "2008-10-17"`},
		{"version not a string", `{"Version":2012,"Statement":[]}`, `Version: want a string, got number`},
		{"missing statement", `{` + v[:len(v)-1] + `}`, `Statement: missing`},
		{"empty statement list", `{` + v + `"Statement":[]}`, `Statement: want at least one statement, got an empty list`},
		{"statement a string", `{` + v + `"Statement":"Allow"}`, `Statement: want a statement object or a list of them, got string`},
		{"statement item not an object", `{` + v + `"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},3]}`, `Statement[1]: want an object, got number`},
		{"effect misspelt", `{` + v + `"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Alow","Action":"*","Resource":"*"}]}`, `Statement[1].Effect: want "Allow" or "Deny", got "Alow"`},
		{"effect lower case", `{` + v + `"Statement":{"Effect":"allow","Action":"*","Resource":"*"}}`, `Statement.Effect: want "Allow" or "Deny", got "allow"`},
		{"effect not a string", `{` + v + `"Statement":[{"Effect":true,"Action":"*","Resource":"*"}]}`, `Statement[0].Effect: want "Allow" or "Deny", got boolean`},
		{"effect missing", `{` + v + `"Statement":[{"Action":"*","Resource":"*"}]}`, `Statement[0].Effect: missing`},
		{"unknown statement key", `{` + v + `"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Principal":"*"}]}`, `Statement[0].Principal: unknown statement key`},
		{"sid not a string", `{` + v + `"Statement":[{"Sid":1,"Effect":"Allow","Action":"*","Resource":"*"}]}`, `Statement[0].Sid: want a string, got number`},
		{"action missing", `{` + v + `"Statement":[{"Effect":"Allow","Resource":"*"}]}`, `Statement[0].Action: missing; want Action or NotAction`},
		{"action and notaction", `{` + v + `"Statement":[{"Effect":"Allow","Action":"*","NotAction":"*","Resource":"*"}]}`, `Statement[0]: has both Action and NotAction`},
		{"action a number", `{` + v + `"Statement":[{"Effect":"Allow","Action":5,"Resource":"*"}]}`, `Statement[0].Action: want a string or a list of strings, got number`},
		{"action list empty", `{` + v + `"Statement":[{"Effect":"Allow","Action":[],"Resource":"*"}]}`, `Statement[0].Action: want a string or a non-empty list of strings, got an empty list`},
		{"action list item not a string", `{` + v + `"Statement":[{"Effect":"Allow","Action":["iot:Publish",null],"Resource":"*"}]}`, `Statement[0].Action[1]: want a string, got null`},
		{"action without service", `{` + v + `"Statement":[{"Effect":"Allow","Action":["iot:Publish","Publish"],"Resource":"*"}]}`, `Statement[0].Action[1]: want "*" or SERVICE:ACTION`},
		{"action empty", `{` + v + `"Statement":[{"Effect":"Allow","Action":"","Resource":"*"}]}`, `Statement[0].Action: want an action`},
		{"resource missing", `{` + v + `"Statement":[{"Effect":"Allow","Action":"*"}]}`, `Statement[0].Resource: missing; want Resource or NotResource`},
		{"resource and notresource", `{` + v + `"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","NotResource":"*"}]}`, `Statement[0]: has both Resource and NotResource`},
		{"resource an object", `{` + v + `"Statement":[{"Effect":"Allow","Action":"*","Resource":{}}]}`, `Statement[0].Resource: want a string or a list of strings, got object`},
		{"resource not an ARN", `{` + v + `"Statement":[{"Effect":"Allow","Action":"*","Resource":["*","topic/a"]}]}`, `Statement[0].Resource[1]: want "*" or an ARN`},
		{"unknown variable", `{` + v + `"Statement":[{"Effect":"Allow","Action":"*","NotResource":"arn:aws:iot:*:*:client/${iot:ClientID}x${iot:Thing}"}]}`, `Statement[0].NotResource: variable at byte 39 of "arn:aws:iot:*:*:client/${iot:ClientID}x${iot:Thing}": unknown variable ${iot:Thing}`},
		{"unterminated variable", `{` + v + `"Statement":[{"Effect":"Allow","Action":"*","Resource":"arn:aws:iot:*:*:client/${iot:ClientId"}]}`, `Statement[0].Resource: unterminated variable at byte 23`},
		{"attribute without name", `{` + v + `"Statement":[{"Effect":"Allow","Action":"*","Resource":"arn:aws:iot:*:*:client/${iot:Connection.Thing.Attributes[]}"}]}`, `unknown variable ${iot:Connection.Thing.Attributes[]}`},
		{"condition not an object", `{` + v + `"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":[]}]}`, `Statement[0].Condition: want an object, got array`},
		{"unknown condition operator", `{` + v + `"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericEquals":{"iot:ClientId":"1"}}}]}`, `Statement[0].Condition: unknown condition operator "NumericEquals": want one of Bool, StringEquals, StringLike, IpAddress, NotIpAddress`},
		{"unknown condition key", `{` + v + `"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}`, `Statement[0].Condition.Bool: unknown condition key "aws:SecureTransport" for Bool: want iot:Connection.Thing.IsAttached`},
		{"string key under Bool", `{` + v + `"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"iot:ClientId":"true"}}}]}`, `unknown condition key "iot:ClientId" for Bool`},
		{"bool value not a boolean", `{` + v + `"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"iot:Connection.Thing.IsAttached":"yes"}}}]}`, `Statement[0].Condition.Bool.iot:Connection.Thing.IsAttached: want "true" or "false", got "yes"`},
		{"source IP not an address", `{` + v + `"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","10.0.0.300"]}}}]}`, `Statement[0].Condition.IpAddress.aws:SourceIp[1]: "10.0.0.300" is not an IP address or CIDR range`},
		{"source IP key under StringEquals", `{` + v + `"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:SourceIp":"10.0.0.1"}}}]}`, `unknown condition key "aws:SourceIp" for StringEquals`},
		{"empty operator block", `{` + v + `"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringLike":{}}}]}`, `Statement[0].Condition.StringLike: want at least one condition key`},
		{"string condition value a number", `{` + v + `"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"iot:ClientId":[7]}}}]}`, `Statement[0].Condition.StringEquals.iot:ClientId[0]: want a string, got number`},
		{"duplicate effect", `{` + v + `"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"*","Resource":"*","Effect":"Allow"}]}`, `Statement[1].Effect: duplicate key`},
		{"duplicate top-level key", `{` + v + `"Statement":{"Effect":"Allow","Action":"*","Resource":"*"},"Version":"2012-10-17"}`, `Version: duplicate key`},
		{"duplicate condition key", `{` + v + `"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringLike":{"iot:ClientId":"a","iot:ClientId":["b"]}}}}`, `Statement.Condition.StringLike.iot:ClientId: duplicate key`},
		{"condition value with unknown variable", `{` + v + `"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringLike":{"iot:ClientId":["a","${iot:Nope}"]}}}}`, `Statement.Condition.StringLike.iot:ClientId[1]: variable at byte 0 of "${iot:Nope}": unknown variable`},
		{"id not a string", `{` + v + `"Id":[],"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, `Id: want a string, got array`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Parse([]byte(tt.doc))
			if err == nil {
				t.Fatalf("Parse succeeded with %d statements, want error containing %q", d.Len(), tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q\nwant it to contain %q", err, tt.want)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Errorf("error %T is not a *ParseError", err)
			}
		})
	}
}

func TestParseSyntaxErrorUnwrapsToJSONError(t *testing.T) {
	_, err := Parse([]byte("{\n\n   ,}"))
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("error %v does not unwrap to *json.SyntaxError", err)
	}
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 3 || pe.Column != 4 {
		t.Errorf("ParseError = %+v, want line 3 column 4", pe)
	}
}

func TestParseAcceptsStringOrListForms(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		len  int
	}{
		{"statement object, action and resource strings", stmt("Allow", `"iot:Connect"`, `"*"`), 1},
		{"action and resource lists", stmt("Deny", `["iot:Connect","iot:Publish"]`, `["arn:aws:iot:*:*:client/a","arn:aws:iot:*:*:topic/b"]`), 1},
		{"statement list with sid and id", `{"Version":"2012-10-17","Id":"p1","Statement":[{"Sid":"one","Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"iot:Publish","NotResource":["arn:aws:iot:*:*:topic/a"]}]}`, 2},
		{"condition values as string and list", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"iot:Connection.Thing.IsAttached":["true","false"]},"StringLike":{"iot:ClientId":"dev-*","iot:Connection.Thing.ThingName":["a","b"]}}}}`, 1},
		{"condition bool as JSON boolean", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"iot:connection.thing.isattached":true}}}}`, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := mustParse(t, tt.doc); d.Len() != tt.len {
				t.Errorf("Len() = %d, want %d", d.Len(), tt.len)
			}
		})
	}
}

func TestParseListsEqualTheirSingleForms(t *testing.T) {
	single := NewSet(mustParse(t, stmt("Allow", `"iot:Publish"`, `"arn:aws:iot:*:*:topic/a/*"`)))
	list := NewSet(mustParse(t, stmt("Allow", `["iot:Publish"]`, `["arn:aws:iot:*:*:topic/a/*"]`)))
	for _, topic := range []string{"a/b", "a/", "b/a", "a"} {
		for _, a := range []Action{Publish, Receive} {
			if single.Allowed(a, topic, nil) != list.Allowed(a, topic, nil) {
				t.Errorf("%v %q: string form says %v, list form %v", a, topic, single.Allowed(a, topic, nil), list.Allowed(a, topic, nil))
			}
		}
	}
	if !single.Allowed(Publish, "a/b", nil) || single.Allowed(Receive, "a/b", nil) {
		t.Error("single form: want Publish a/b allowed and Receive a/b denied")
	}
}
