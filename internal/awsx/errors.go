package awsx

import (
	"errors"

	"github.com/aws/smithy-go"
)

// ErrorCode returns the AWS error code carried by err (for example
// "ResourceNotFoundException" or "NoSuchEntity"), or "" when err is not an
// AWS API error. Packages decide for themselves which codes mean what.
func ErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
