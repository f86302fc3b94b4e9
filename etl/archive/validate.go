package archive

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/opsctl/opsctl/internal/opserr"
)

// LogRetentionDays are the values CloudWatch Logs accepts for a log group's
// retention (botocore logs service-2.json, shape Days, the
// retentionInDays of PutRetentionPolicy: "Possible values are: 1, 3, 5, 7,
// 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
// 2922, 3288, and 3653").
var LogRetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// ValidateLogRetentionDays checks n against LogRetentionDays.
func ValidateLogRetentionDays(n int) error {
	if slices.Contains(LogRetentionDays, n) {
		return nil
	}
	vals := make([]string, len(LogRetentionDays))
	for i, v := range LogRetentionDays {
		vals[i] = strconv.Itoa(v)
	}
	return opserr.Usagef("invalid --log-retention-days %d: CloudWatch Logs accepts only %s", n, strings.Join(vals, ", "))
}

// Reserved bucket name prefixes and suffixes (S3 user guide, "General
// purpose bucket naming rules").
var (
	bucketReservedPrefixes = []string{"xn--", "sthree-", "amzn-s3-demo-"}
	bucketReservedSuffixes = []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"}
)

// ValidateBucketName checks a general purpose bucket name by S3's naming
// rules (S3 user guide, "General purpose bucket naming rules",
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html):
// 3-63 characters of lowercase letters, digits, '.' and '-'; a letter or
// digit first and last; no two adjacent periods; not an IP address; not
// starting with xn--, sthree- or amzn-s3-demo-; not ending with -s3alias,
// --ol-s3, .mrap, --x-s3 or --table-s3.
func ValidateBucketName(b string) error {
	bad := func(why string) error {
		return opserr.Usagef("invalid --bucket %q: %s (S3 bucket naming rules)", b, why)
	}
	if len(b) < 3 || len(b) > 63 {
		return bad(fmt.Sprintf("%d characters; bucket names have 3 to 63", len(b)))
	}
	for _, r := range b {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-') {
			return bad(fmt.Sprintf("%q is not allowed; only lowercase letters, digits, '.' and '-'", r))
		}
	}
	alnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
	if !alnum(b[0]) || !alnum(b[len(b)-1]) {
		return bad("it must begin and end with a letter or digit")
	}
	if strings.Contains(b, "..") {
		return bad("two adjacent periods")
	}
	if _, err := netip.ParseAddr(b); err == nil {
		return bad("formatted as an IP address")
	}
	for _, p := range bucketReservedPrefixes {
		if strings.HasPrefix(b, p) {
			return bad("the prefix " + p + " is reserved")
		}
	}
	for _, s := range bucketReservedSuffixes {
		if strings.HasSuffix(b, s) {
			return bad("the suffix " + s + " is reserved")
		}
	}
	return nil
}

// Identifier length limits of the source databases: MySQL allows 64
// characters for a database, table or column name (MySQL reference manual,
// "Schema Object Names", Identifier Length Limits); Postgres truncates
// identifiers to NAMEDATALEN-1 = 63 bytes (Postgres documentation, "Lexical
// Structure", Identifiers and Key Words), so a longer name never matches the
// table Debezium captures.
const (
	MaxMySQLIdentifier    = 64
	MaxPostgresIdentifier = 63
)

// validateSQLName checks each dot-separated part of a table or column
// name against the source's identifier length.
func validateSQLName(kind, flag, name string) error {
	max, unit := MaxPostgresIdentifier, "bytes"
	if kind == SourceMySQL {
		max, unit = MaxMySQLIdentifier, "characters"
	}
	for _, part := range strings.Split(name, ".") {
		n := len(part)
		if kind == SourceMySQL {
			n = len([]rune(part))
		}
		if n > max {
			return opserr.Usagef("invalid %s %q: %q is %d %s long; %s identifiers have at most %d", flag, name, part, n, unit, kind, max)
		}
	}
	return nil
}

// validatePrefix rejects a key prefix that would widen the Firehose role's
// S3 access: the prefix goes into the policy's Resource (an ARN, where '*'
// and '?' are wildcards) and its s3:prefix condition (StringLike, where
// '${...}' is a policy variable), so "cdc/*" would grant the whole bucket
// (IAM user guide, "IAM JSON policy elements: Resource" and "Policy
// variables"). Firehose's own expressions (!{...}) are opsctl's to set.
func validatePrefix(p string) error {
	switch {
	case strings.HasPrefix(p, "/"):
		return opserr.Usagef("invalid --prefix %q: a key prefix does not start with '/'", p)
	case strings.Contains(p, "!{"):
		return opsctlPrefixErr(p, "Firehose expressions (!{...}); opsctl adds the time partitioning itself")
	case strings.ContainsAny(p, "*?"):
		return opsctlPrefixErr(p, "IAM wildcards ('*', '?') would widen the Firehose role's S3 access beyond the prefix")
	case strings.Contains(p, "${"):
		return opsctlPrefixErr(p, "IAM policy variables (${...}) would widen the Firehose role's S3 access beyond the prefix")
	case len(p) > 900:
		return opserr.Usagef("invalid --prefix: %d characters; at most 900 (S3 keys are at most 1024 bytes, and Firehose adds the time partitions and object name)", len(p))
	}
	return nil
}

func opsctlPrefixErr(p, why string) error {
	return opserr.Usagef("invalid --prefix %q: %s", p, why)
}
