package awsproto

// Constraint checks taken from an API model (botocore service-2.json: a
// member in a shape's "required" list, "min"/"max" on strings, lists, maps
// and numbers, "enum", "pattern"), answered as AWS answers them.
//
// AWS services generated from Smithy/Coral models word every violation the
// same way, whatever the protocol:
//
//	1 validation error detected: Value 'x' at 'member' failed to satisfy constraint: Member must ...
//	2 validation errors detected: Value ...; Value ...
//
// and differ only in the error code (ValidationException for most newer
// services, ValidationError for the awsQuery services, InvalidParameterException
// for CloudWatch Logs, InvalidParameterValueException for Lambda). EC2 has its
// own style: MissingParameter for an absent member, InvalidParameterValue for
// a bad one. A Validator holds that choice; every check returns nil or an
// *Error (as an error, so `return nil, v.Required(...)` never yields a non-nil
// interface holding a nil pointer).

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
)

// Validator produces a service's constraint-violation errors.
type Validator struct {
	// Code is the error code of a violation (ValidationException when empty).
	Code string
	// EC2 selects the ec2Query style (MissingParameter, InvalidParameterValue).
	EC2 bool
}

// The usual validators; a service with its own code declares
// Validator{Code: "InvalidParameterException"}.
var (
	// ValidationException: restJson1 and awsJson services with Smithy's
	// ValidationException (ECS uses its own InvalidParameterException).
	ValidationException = Validator{Code: "ValidationException"}
	// QueryValidation: awsQuery services (IAM, Auto Scaling, ELBv2).
	QueryValidation = Validator{Code: "ValidationError"}
	// EC2Validation: ec2Query.
	EC2Validation = Validator{EC2: true}
)

const violationPrefix = "1 validation error detected: "

func (v Validator) code() string {
	if v.Code == "" {
		return "ValidationException"
	}
	return v.Code
}

// Violation is the error for value of member failing constraint ("Member
// must ..."). member is the model's member path in lowerCamelCase, as AWS
// names it ("functionName", "tags.key", "logEvents.1.member.message").
func (v Validator) Violation(value any, member, constraint string) error {
	if v.EC2 {
		return &Error{Status: http.StatusBadRequest, Code: "InvalidParameterValue", Sender: true,
			Message: fmt.Sprintf("Value (%v) for parameter %s is invalid. %s", value, member, constraint)}
	}
	return &Error{Status: http.StatusBadRequest, Code: v.code(), Sender: true,
		Message: fmt.Sprintf(violationPrefix+"Value '%v' at '%s' failed to satisfy constraint: %s", value, member, constraint)}
}

// Invalid is a violation with a free-form message (AWS's own wording for
// rules a model cannot express).
func (v Validator) Invalid(format string, args ...any) error {
	code := v.code()
	if v.EC2 {
		code = "InvalidParameterValue"
	}
	return Errf(code, format, args...)
}

// Required fails when a required member is absent.
func (v Validator) Required(member string, present bool) error {
	if present {
		return nil
	}
	if v.EC2 {
		return &Error{Status: http.StatusBadRequest, Code: "MissingParameter", Sender: true,
			Message: fmt.Sprintf("The request must contain the parameter %s", member)}
	}
	// AWS prints an absent value unquoted: "Value null at 'member'".
	return &Error{Status: http.StatusBadRequest, Code: v.code(), Sender: true,
		Message: fmt.Sprintf(violationPrefix+"Value null at '%s' failed to satisfy constraint: Member must not be null", member)}
}

// Length checks a string's length in characters against the model's min and
// max (max < 0: no upper bound).
func (v Validator) Length(member, value string, min, max int) error {
	return v.Size(member, value, len([]rune(value)), min, max)
}

// Size checks the length n of a list, map or string against min and max
// (max < 0: no upper bound); shown is how the value appears in the message.
func (v Validator) Size(member string, shown any, n, min, max int) error {
	switch {
	case n < min:
		return v.Violation(shown, member, fmt.Sprintf("Member must have length greater than or equal to %d", min))
	case max >= 0 && n > max:
		return v.Violation(shown, member, fmt.Sprintf("Member must have length less than or equal to %d", max))
	}
	return nil
}

// Range checks a number against the model's min and max.
func (v Validator) Range(member string, value, min, max int64) error {
	switch {
	case value < min:
		return v.Violation(value, member, fmt.Sprintf("Member must have value greater than or equal to %d", min))
	case value > max:
		return v.Violation(value, member, fmt.Sprintf("Member must have value less than or equal to %d", max))
	}
	return nil
}

// Enum checks value against the model's enum (in the model's order, as AWS
// lists it).
func (v Validator) Enum(member, value string, allowed ...string) error {
	if slices.Contains(allowed, value) {
		return nil
	}
	return v.Violation(value, member, "Member must satisfy enum value set: ["+strings.Join(allowed, ", ")+"]")
}

// Pattern checks value against re, a model "pattern" anchored with ^ and $;
// the message quotes the pattern without the anchors, as AWS does.
func (v Validator) Pattern(member, value string, re *regexp.Regexp) error {
	if re.MatchString(value) {
		return nil
	}
	p := strings.TrimSuffix(strings.TrimPrefix(re.String(), "^"), "$")
	return v.Violation(value, member, "Member must satisfy regular expression pattern: "+p)
}

// Check returns nil when every err is nil, the one error when one is not, and
// for several model violations one error listing them all ("2 validation
// errors detected: ...; ..."), as AWS reports every violated constraint of a
// request at once. Errors that are not violations are returned first-come.
func Check(errs ...error) error {
	var found []*Error
	for _, err := range errs {
		if err == nil {
			continue
		}
		e, ok := err.(*Error)
		if !ok || !strings.HasPrefix(e.Message, violationPrefix) {
			if len(found) == 0 {
				return err
			}
			continue
		}
		found = append(found, e)
	}
	switch len(found) {
	case 0:
		return nil
	case 1:
		return found[0]
	}
	parts := make([]string, len(found))
	for i, e := range found {
		parts[i] = strings.TrimPrefix(e.Message, violationPrefix)
	}
	out := *found[0]
	out.Message = fmt.Sprintf("%d validation errors detected: %s", len(found), strings.Join(parts, "; "))
	return &out
}
