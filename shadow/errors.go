package shadow

import (
	"strconv"
)

// Error is a shadow service rejection: the code and exact message of a
// */rejected document (reference §4).
type Error struct {
	Code    int
	Message string
}

// Error returns the code and message, e.g. "shadow: 409 Version conflict".
func (e *Error) Error() string {
	return "shadow: " + strconv.Itoa(e.Code) + " " + e.Message
}

// Exact rejection messages (reference §4).
const (
	MsgInvalidJSON        = "Invalid JSON"
	MsgMissingState       = "Missing required node: state"
	MsgStateNotObject     = "State node must be an object"
	MsgDesiredNotObject   = "Desired node must be an object"
	MsgReportedNotObject  = "Reported node must be an object"
	MsgInvalidVersion     = "Invalid version"
	MsgInvalidClientToken = "Invalid clientToken"
	MsgInvalidStateNode   = "State contains an invalid node"
	MsgUnauthorized       = "Unauthorized"
	MsgForbidden          = "Forbidden"
	MsgVersionConflict    = "Version conflict"
	MsgPayloadTooLarge    = "The payload exceeds the maximum size allowed"
	MsgUnsupportedEncode  = "Unsupported documented encoding; supported encoding is UTF-8"
	MsgTooManyRequests    = "TOO_MANY_REQUESTS"
	MsgInternalFailure    = "Internal service failure"
)

// NestingMessage is the 400 message for a document nested deeper than max.
func NestingMessage(max int) string {
	return "JSON contains too many levels of nesting; maximum is " + strconv.Itoa(max)
}

// NotFoundMessage is the 404 message for a shadow that does not exist; name
// is the thing name for a classic shadow and the shadow name for a named one.
func NotFoundMessage(name string) string {
	return "No shadow exists with name: '" + name + "'"
}

// AppendErrorDocument appends the */rejected document for code and message,
// with clientToken when token is not empty:
// {"code":409,"message":"Version conflict","clientToken":"…"}. The emulator
// uses it for the rejections it decides itself (401, 403, 429, 500).
func AppendErrorDocument(b []byte, code int, message, token string) []byte {
	return appendErrorDocument(b, code, message, token, token != "")
}

// appendErrorDocument appends the error document, with clientToken when
// hasToken.
func appendErrorDocument[T string | []byte](b []byte, code int, message string, token T, hasToken bool) []byte {
	b = append(b, `{"code":`...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, `,"message":`...)
	b = appendQuoted(b, message)
	if hasToken {
		b = append(b, `,"clientToken":`...)
		b = appendQuoted(b, token)
	}
	return append(b, '}')
}
