// Package secretsmanageremu is the local endpoint's Secrets Manager emulation
// (awsJson1.1, X-Amz-Target secretsmanager.*, SigV4 name "secretsmanager"):
// CreateSecret, DescribeSecret and GetSecretValue, enough for deploy to check
// that a service's secrets exist, with the constraints and error codes of
// botocore's secretsmanager service-2.json.
package secretsmanageremu

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws/awsproto"
)

// Server is the Secrets Manager emulation. It is an http.Handler.
type Server struct {
	awsproto.RPC
	Region, Account string

	clk     clock.Clock
	mu      sync.Mutex
	secrets map[string]*secret // by name
}

type secret struct {
	name, arn, desc, kmsKey string
	str                     *string
	bin                     []byte
	versionID               string
	created, changed        time.Time
	tags                    []tag
}

type tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// New returns an empty emulation.
func New(region, account string, clk clock.Clock) *Server {
	s := &Server{Region: region, Account: account, clk: clock.Or(clk), secrets: map[string]*secret{}}
	s.RPC.Ops = map[string]awsproto.Handler{
		"CreateSecret":   s.createSecret,
		"DescribeSecret": s.describeSecret,
		"GetSecretValue": s.getSecretValue,
	}
	return s
}

// nameRe: "The secret name can contain ASCII letters, numbers, and the
// following characters: /_+=.@-" (CreateSecret Name docs).
var nameRe = regexp.MustCompile(`^[A-Za-z0-9/_+=.@-]+$`)

// suffixRe: AWS appends a hyphen and six random characters to the ARN.
var suffixRe = regexp.MustCompile(`-[A-Za-z0-9]{6}$`)

func validation(value any, member, constraint string) error {
	return awsproto.Errf("ValidationException", "1 validation error detected: Value '%v' at '%s' failed to satisfy constraint: %s", value, member, constraint)
}

func errNotFound() error {
	return awsproto.ResourceNotFound("Secrets Manager can't find the specified secret.")
}

func randomSuffix() string {
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 6)
	rand.Read(b)
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return string(b)
}

func uuid() string {
	b := make([]byte, 16)
	rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func (s *Server) createSecret(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		Name, ClientRequestToken, Description, KmsKeyId, SecretString *string
		SecretBinary                                                  []byte
		Tags                                                          []tag
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if in.Name == nil {
		return nil, validation("null", "name", "Member must not be null")
	}
	name := *in.Name
	switch {
	case len(name) < 1:
		return nil, validation(name, "name", "Member must have length greater than or equal to 1")
	case len(name) > 512:
		return nil, validation(name, "name", "Member must have length less than or equal to 512")
	case !nameRe.MatchString(name):
		return nil, awsproto.InvalidParameter("Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!")
	}
	if in.Description != nil && len(*in.Description) > 2048 {
		return nil, validation(*in.Description, "description", "Member must have length less than or equal to 2048")
	}
	if in.SecretString != nil && in.SecretBinary != nil {
		return nil, awsproto.Errf("InvalidParameterException", "You can't specify both a binary secret value and a string secret value in the same secret.")
	}
	if in.SecretString != nil && (len(*in.SecretString) < 1 || len(*in.SecretString) > 65536) {
		return nil, validation("***", "secretString", "Member must have length less than or equal to 65536")
	}
	if in.ClientRequestToken != nil && (len(*in.ClientRequestToken) < 32 || len(*in.ClientRequestToken) > 64) {
		return nil, validation(*in.ClientRequestToken, "clientRequestToken", "Member must have length greater than or equal to 32")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.secrets[name]; ok {
		return nil, awsproto.Errf("ResourceExistsException", "The operation failed because the secret %s already exists.", name)
	}
	now := s.clk.Now()
	sec := &secret{name: name, arn: fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s-%s", s.Region, s.Account, name, randomSuffix()),
		str: in.SecretString, bin: in.SecretBinary, created: now, changed: now, tags: in.Tags}
	if in.Description != nil {
		sec.desc = *in.Description
	}
	if in.KmsKeyId != nil {
		sec.kmsKey = *in.KmsKeyId
	}
	out := map[string]any{"ARN": sec.arn, "Name": name}
	if in.SecretString != nil || in.SecretBinary != nil {
		sec.versionID = uuid()
		if in.ClientRequestToken != nil {
			sec.versionID = *in.ClientRequestToken
		}
		out["VersionId"] = sec.versionID
	}
	s.secrets[name] = sec
	return out, nil
}

// find resolves a SecretId: a name, a full ARN, or an ARN without its
// six-character suffix (partial ARN). Caller holds s.mu.
func (s *Server) find(id *string) (*secret, error) {
	if id == nil {
		return nil, validation("null", "secretId", "Member must not be null")
	}
	if len(*id) < 1 || len(*id) > 2048 {
		return nil, validation(*id, "secretId", "Member must have length less than or equal to 2048")
	}
	if strings.HasPrefix(*id, "arn:") {
		for _, sec := range s.secrets {
			if sec.arn == *id || suffixRe.ReplaceAllString(sec.arn, "") == *id {
				return sec, nil
			}
		}
		return nil, errNotFound()
	}
	if sec := s.secrets[*id]; sec != nil {
		return sec, nil
	}
	return nil, errNotFound()
}

func (s *Server) describeSecret(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct{ SecretId *string }
	if err := dec(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.find(in.SecretId)
	if err != nil {
		return nil, err
	}
	out := map[string]any{
		"ARN": sec.arn, "Name": sec.name, "CreatedDate": awsproto.EpochTime(sec.created),
		"LastChangedDate": awsproto.EpochTime(sec.changed), "Tags": append([]tag{}, sec.tags...),
	}
	if sec.desc != "" {
		out["Description"] = sec.desc
	}
	if sec.kmsKey != "" {
		out["KmsKeyId"] = sec.kmsKey
	}
	if sec.versionID != "" {
		out["VersionIdsToStages"] = map[string][]string{sec.versionID: {"AWSCURRENT"}}
	}
	return out, nil
}

func (s *Server) getSecretValue(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct{ SecretId, VersionId, VersionStage *string }
	if err := dec(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.find(in.SecretId)
	if err != nil {
		return nil, err
	}
	if sec.versionID == "" {
		// A secret created without a value has no AWSCURRENT version.
		return nil, awsproto.ResourceNotFound("Secrets Manager can't find the specified secret value for staging label: AWSCURRENT")
	}
	if in.VersionStage != nil && *in.VersionStage != "AWSCURRENT" {
		return nil, awsproto.ResourceNotFound("Secrets Manager can't find the specified secret value for staging label: %s", *in.VersionStage)
	}
	if in.VersionId != nil && *in.VersionId != sec.versionID {
		return nil, awsproto.ResourceNotFound("Secrets Manager can't find the specified secret value for VersionId: %s", *in.VersionId)
	}
	out := map[string]any{"ARN": sec.arn, "Name": sec.name, "VersionId": sec.versionID,
		"VersionStages": []string{"AWSCURRENT"}, "CreatedDate": awsproto.EpochTime(sec.changed)}
	if sec.str != nil {
		out["SecretString"] = *sec.str
	} else {
		out["SecretBinary"] = sec.bin
	}
	return out, nil
}

var _ http.Handler = (*Server)(nil)
