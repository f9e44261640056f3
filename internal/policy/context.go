package policy

import "net/netip"

// Default ARN parts used when a Context leaves them empty.
const (
	DefaultRegion  = "us-east-1"
	DefaultAccount = "123456789012"
)

// Context is what policy variables and condition keys resolve to for one
// connection. The zero value resolves no variable and forms ARNs in
// DefaultRegion and DefaultAccount.
type Context struct {
	// ClientID is the MQTT client ID, ${iot:ClientId}.
	ClientID string
	// ThingName is ${iot:Connection.Thing.ThingName}: the thing attached to
	// the certificate whose name equals the client ID, or "" when there is
	// none.
	ThingName string
	// CommonName is the certificate subject CN, ${iot:Certificate.Subject.CommonName}.
	CommonName string
	// ThingTypeName is ${iot:Connection.Thing.ThingTypeName}.
	ThingTypeName string
	// Attributes are the thing attributes, ${iot:Connection.Thing.Attributes[x]}.
	Attributes map[string]string
	// Region is the ARN region; "" means DefaultRegion.
	Region string
	// Account is the ARN account ID; "" means DefaultAccount.
	Account string
	// SourceIP is the client's address, aws:SourceIp; the zero value is
	// unknown.
	SourceIP netip.Addr
}

// ThingAttached reports iot:Connection.Thing.IsAttached: whether a thing
// is attached to the connection's certificate under the client ID.
func (c *Context) ThingAttached() bool { return c != nil && c.ThingName != "" }

func (c *Context) region() string {
	if c == nil || c.Region == "" {
		return DefaultRegion
	}
	return c.Region
}

func (c *Context) account() string {
	if c == nil || c.Account == "" {
		return DefaultAccount
	}
	return c.Account
}

// variable names a policy variable.
type variable uint8

const (
	varClientID variable = iota + 1
	varThingName
	varThingTypeName
	varAttribute
	varCommonName
)

// resolve returns the value of v (with attribute name attr for varAttribute),
// or "" when it cannot be resolved. Thing type and attributes exist only
// when a thing is attached; an empty value counts as unresolved.
func (c *Context) resolve(v variable, attr string) string {
	if c == nil {
		return ""
	}
	switch v {
	case varClientID:
		return c.ClientID
	case varThingName:
		return c.ThingName
	case varThingTypeName:
		if c.ThingName == "" {
			return ""
		}
		return c.ThingTypeName
	case varAttribute:
		if c.ThingName == "" {
			return ""
		}
		return c.Attributes[attr]
	case varCommonName:
		return c.CommonName
	}
	return ""
}
