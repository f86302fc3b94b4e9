package awsproto

import (
	"regexp"
	"testing"
)

func TestValidatorWordsViolationsAsTheProtocolDoes(t *testing.T) {
	logs := Validator{Code: "InvalidParameterException"}
	name := regexp.MustCompile(`^[\.\-_/#A-Za-z0-9]+$`)
	cases := []struct {
		name      string
		err       error
		code, msg string
	}{
		// Smithy/Coral wording, e.g. botocore logs LogGroupName min 1 max 512 pattern [\.\-_/#A-Za-z0-9]+.
		{"required member absent", logs.Required("logGroupName", false), "InvalidParameterException",
			"1 validation error detected: Value null at 'logGroupName' failed to satisfy constraint: Member must not be null"},
		{"string too short", logs.Length("logGroupName", "", 1, 512), "InvalidParameterException",
			"1 validation error detected: Value '' at 'logGroupName' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"string too long in characters", logs.Length("tags.key", "ééé", 1, 2), "InvalidParameterException",
			"1 validation error detected: Value 'ééé' at 'tags.key' failed to satisfy constraint: Member must have length less than or equal to 2"},
		{"number below min", ValidationException.Range("limit", 0, 1, 50), "ValidationException",
			"1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"number above max", QueryValidation.Range("maxItems", 1001, 1, 1000), "ValidationError",
			"1 validation error detected: Value '1001' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 1000"},
		{"enum lists the model's values in order", logs.Enum("logGroupClass", "COLD", "STANDARD", "INFREQUENT_ACCESS", "DELIVERY"), "InvalidParameterException",
			"1 validation error detected: Value 'COLD' at 'logGroupClass' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, INFREQUENT_ACCESS, DELIVERY]"},
		{"pattern quoted without anchors", logs.Pattern("logGroupName", "a b", name), "InvalidParameterException",
			`1 validation error detected: Value 'a b' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]+`},
		// ec2Query: MissingParameter / InvalidParameterValue (EC2 API reference, "Common client errors").
		{"ec2 missing parameter", EC2Validation.Required("ImageId", false), "MissingParameter",
			"The request must contain the parameter ImageId"},
		{"ec2 invalid value", EC2Validation.Range("MaxResults", 2000, 5, 1000), "InvalidParameterValue",
			"Value (2000) for parameter MaxResults is invalid. Member must have value less than or equal to 1000"},
		{"several violations are reported together", Check(logs.Required("logGroupName", false), nil, logs.Range("limit", 0, 1, 50)), "InvalidParameterException",
			"2 validation errors detected: Value null at 'logGroupName' failed to satisfy constraint: Member must not be null; Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, ok := tc.err.(*Error)
			if !ok {
				t.Fatalf("err = %#v, want an *Error", tc.err)
			}
			if e.Code != tc.code || e.Message != tc.msg || e.Status != 400 || !e.Sender {
				t.Fatalf("got %d %s %q (sender %v)\nwant 400 %s %q", e.Status, e.Code, e.Message, e.Sender, tc.code, tc.msg)
			}
		})
	}
}

func TestValidatorPassesValidValuesWithANilInterface(t *testing.T) {
	v := ValidationException
	for name, err := range map[string]error{
		"required": v.Required("x", true),
		"length":   v.Length("x", "abc", 1, 3),
		"no max":   v.Size("x", "[...]", 9, 1, -1),
		"range":    v.Range("x", 5, 1, 5),
		"enum":     v.Enum("x", "B", "A", "B"),
		"pattern":  v.Pattern("x", "ab", regexp.MustCompile(`^[a-z]+$`)),
		"check":    Check(nil, nil),
	} {
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestCheckReturnsAnOtherErrorBeforeViolationsItFollows(t *testing.T) {
	nf := ResourceNotFound("gone")
	if err := Check(nil, nf, ValidationException.Required("x", false)); err != error(nf) {
		t.Fatalf("got %v, want the not-found error", err)
	}
}
