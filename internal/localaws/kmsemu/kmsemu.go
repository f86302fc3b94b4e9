// Package kmsemu is the local endpoint's minimal AWS KMS emulation
// (awsJson1.1, X-Amz-Target TrentService.*, SigV4 name "kms"): CreateKey,
// DescribeKey, CreateAlias and ListAliases — what opsctl needs to resolve a
// key given as a key ID, key ARN, alias name or alias ARN to its key ARN.
//
// Keys are symmetric encryption keys (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT,
// Enabled) created in memory; no cryptography is emulated. As in AWS,
// DescribeKey of a predefined AWS alias (alias/aws/SERVICE) that has no key
// yet creates its AWS managed key (KeyManager AWS). Errors are AWS's:
// NotFoundException, AlreadyExistsException, InvalidAliasNameException,
// InvalidMarkerException and ValidationException for the model's
// constraints. Nothing changes over time.
package kmsemu

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws/awsproto"
)

// aliasPageSize is small so callers must follow NextMarker.
const aliasPageSize = 3

// model words violations of the API model's constraints (botocore kms
// service-2.json: the Smithy default ValidationException).
var model = awsproto.ValidationException

// Server is the KMS emulation. It is an http.Handler.
type Server struct {
	awsproto.RPC
	region, account string
	clock           clock.Clock

	mu      sync.Mutex
	keys    map[string]*key   // by key ID
	aliases map[string]*alias // by alias name (alias/...)
}

type key struct {
	id, description, manager string
	created                  time.Time
	policy                   string // "": the default policy (policy.go)
}

type alias struct {
	name, target string
	created      time.Time
}

// New returns an empty KMS in region/account on clk (creation dates).
func New(region, account string, clk clock.Clock) *Server {
	s := &Server{region: region, account: account, clock: clock.Or(clk), keys: map[string]*key{}, aliases: map[string]*alias{}}
	s.RPC.Ops = map[string]awsproto.Handler{
		"CreateKey":   s.createKey,
		"DescribeKey": s.describeKey,
		"CreateAlias": s.createAlias,
		"ListAliases": s.listAliases,
		// Key policies (policy.go).
		"GetKeyPolicy":    s.getKeyPolicy,
		"PutKeyPolicy":    s.putKeyPolicy,
		"ListKeyPolicies": s.listKeyPolicies,
	}
	return s
}

// AddKey is a test backdoor: it creates an enabled customer managed key
// with the given key ID (CreateKey picks a random one), so golden documents
// can name a fixed key ARN, and returns the key's ARN.
func (s *Server) AddKey(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[id] = &key{id: id, manager: "CUSTOMER", created: s.clock.Now()}
	return s.keyARN(id)
}

func (s *Server) keyARN(id string) string {
	return fmt.Sprintf("arn:aws:kms:%s:%s:key/%s", s.region, s.account, id)
}

func (s *Server) aliasARN(name string) string {
	return fmt.Sprintf("arn:aws:kms:%s:%s:%s", s.region, s.account, name)
}

// keyMetadata is botocore kms KeyMetadata (the members opsctl reads and the
// ones every symmetric key has).
type keyMetadata struct {
	AWSAccountId          string             `json:"AWSAccountId"`
	KeyId                 string             `json:"KeyId"`
	Arn                   string             `json:"Arn"`
	CreationDate          awsproto.EpochTime `json:"CreationDate"`
	Enabled               bool               `json:"Enabled"`
	Description           string             `json:"Description"`
	KeyUsage              string             `json:"KeyUsage"`
	KeyState              string             `json:"KeyState"`
	Origin                string             `json:"Origin"`
	KeyManager            string             `json:"KeyManager"`
	CustomerMasterKeySpec string             `json:"CustomerMasterKeySpec"`
	KeySpec               string             `json:"KeySpec"`
	EncryptionAlgorithms  []string           `json:"EncryptionAlgorithms"`
	MultiRegion           bool               `json:"MultiRegion"`
}

func (s *Server) meta(k *key) keyMetadata {
	return keyMetadata{AWSAccountId: s.account, KeyId: k.id, Arn: s.keyARN(k.id), CreationDate: awsproto.EpochTime(k.created),
		Enabled: true, Description: k.description, KeyUsage: "ENCRYPT_DECRYPT", KeyState: "Enabled", Origin: "AWS_KMS",
		KeyManager: k.manager, CustomerMasterKeySpec: "SYMMETRIC_DEFAULT", KeySpec: "SYMMETRIC_DEFAULT",
		EncryptionAlgorithms: []string{"SYMMETRIC_DEFAULT"}}
}

func newKeyID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

type createKeyInput struct {
	Description *string `json:"Description"`
	KeyUsage    *string `json:"KeyUsage"`
	KeySpec     *string `json:"KeySpec"`
	Policy      *string `json:"Policy"`
}

func (s *Server) createKey(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in createKeyInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	desc := deref(in.Description)
	// botocore kms DescriptionType: max 8192.
	if err := model.Length("description", desc, 0, 8192); err != nil {
		return nil, err
	}
	// Only symmetric encryption keys are emulated.
	if u := deref(in.KeyUsage); u != "" && u != "ENCRYPT_DECRYPT" {
		return nil, awsproto.Errf("UnsupportedOperationException", "KeyUsage %s is not supported by this emulation", u)
	}
	if k := deref(in.KeySpec); k != "" && k != "SYMMETRIC_DEFAULT" {
		return nil, awsproto.Errf("UnsupportedOperationException", "KeySpec %s is not supported by this emulation", k)
	}
	if in.Policy != nil {
		if err := validatePolicy(*in.Policy); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := &key{id: newKeyID(), description: desc, manager: "CUSTOMER", created: s.clock.Now(), policy: deref(in.Policy)}
	s.keys[k.id] = k
	return map[string]any{"KeyMetadata": s.meta(k)}, nil
}

type keyIDInput struct {
	KeyId *string `json:"KeyId"`
}

// resolve finds the key a KeyId names: key ID, key ARN, alias name or alias
// ARN (botocore kms DescribeKeyRequest.KeyId). A predefined AWS alias
// (alias/aws/...) without a key gets its AWS managed key, as in AWS.
func (s *Server) resolve(id string) (*key, error) {
	name := id
	if strings.HasPrefix(id, "arn:") {
		prefix := fmt.Sprintf("arn:aws:kms:%s:%s:", s.region, s.account)
		rest, ok := strings.CutPrefix(id, prefix)
		if !ok {
			return nil, awsproto.Errf("NotFoundException", "Invalid arn %s", id)
		}
		name = rest
	}
	if kid, ok := strings.CutPrefix(name, "key/"); ok {
		if k := s.keys[kid]; k != nil {
			return k, nil
		}
		return nil, awsproto.Errf("NotFoundException", "Key '%s' does not exist", s.keyARN(kid))
	}
	if strings.HasPrefix(name, "alias/") {
		if a := s.aliases[name]; a != nil {
			return s.keys[a.target], nil
		}
		if strings.HasPrefix(name, "alias/aws/") {
			k := &key{id: newKeyID(), description: "Default key that protects my " + strings.TrimPrefix(name, "alias/aws/") + " data when no other key is defined", manager: "AWS", created: s.clock.Now()}
			s.keys[k.id] = k
			s.aliases[name] = &alias{name: name, target: k.id, created: k.created}
			return k, nil
		}
		return nil, awsproto.Errf("NotFoundException", "Alias %s is not found.", s.aliasARN(name))
	}
	if k := s.keys[name]; k != nil {
		return k, nil
	}
	if strings.HasPrefix(id, "arn:") {
		return nil, awsproto.Errf("NotFoundException", "Invalid arn %s", id)
	}
	return nil, awsproto.Errf("NotFoundException", "Invalid keyId '%s'", id)
}

func (s *Server) describeKey(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in keyIDInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if in.KeyId == nil {
		return nil, model.Required("keyId", false)
	}
	// botocore kms KeyIdType: 1-2048.
	if err := model.Length("keyId", *in.KeyId, 1, 2048); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k, err := s.resolve(*in.KeyId)
	if err != nil {
		return nil, err
	}
	return map[string]any{"KeyMetadata": s.meta(k)}, nil
}

type createAliasInput struct {
	AliasName   *string `json:"AliasName"`
	TargetKeyId *string `json:"TargetKeyId"`
}

// botocore kms AliasNameType: 1-256, pattern ^[a-zA-Z0-9:/_-]+$.
var aliasNameRe = regexp.MustCompile(`^[a-zA-Z0-9:/_-]+$`)

func (s *Server) createAlias(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in createAliasInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := awsproto.Check(model.Required("aliasName", in.AliasName != nil), model.Required("targetKeyId", in.TargetKeyId != nil)); err != nil {
		return nil, err
	}
	name := *in.AliasName
	if err := awsproto.Check(model.Length("aliasName", name, 1, 256), model.Pattern("aliasName", name, aliasNameRe)); err != nil {
		return nil, err
	}
	// KMS CreateAlias: "The AliasName value must begin with alias/ ...
	// cannot begin with alias/aws/" (reserved for AWS managed keys).
	if !strings.HasPrefix(name, "alias/") || name == "alias/" {
		return nil, awsproto.Errf("InvalidAliasNameException", "Alias must start with the prefix \"alias/\". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html")
	}
	if strings.HasPrefix(name, "alias/aws/") {
		return nil, awsproto.Errf("NotAuthorizedException", "Cannot create alias with prefix 'alias/aws/'")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.aliases[name] != nil {
		return nil, awsproto.Errf("AlreadyExistsException", "An alias with the name %s already exists", s.aliasARN(name))
	}
	target := *in.TargetKeyId
	if strings.HasPrefix(target, "alias/") || strings.Contains(target, ":alias/") {
		return nil, awsproto.Errf("ValidationException", "Aliases must refer to keys. Not aliases")
	}
	k, err := s.resolve(target)
	if err != nil {
		return nil, err
	}
	s.aliases[name] = &alias{name: name, target: k.id, created: s.clock.Now()}
	return struct{}{}, nil
}

type listAliasesInput struct {
	KeyId  *string `json:"KeyId"`
	Limit  *int    `json:"Limit"`
	Marker *string `json:"Marker"`
}

type aliasEntry struct {
	AliasName       string             `json:"AliasName"`
	AliasArn        string             `json:"AliasArn"`
	TargetKeyId     string             `json:"TargetKeyId,omitempty"`
	CreationDate    awsproto.EpochTime `json:"CreationDate"`
	LastUpdatedDate awsproto.EpochTime `json:"LastUpdatedDate"`
}

func (s *Server) listAliases(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in listAliasesInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	limit := 0
	if in.Limit != nil {
		// botocore kms LimitType: 1-1000.
		if err := model.Range("limit", int64(*in.Limit), 1, 1000); err != nil {
			return nil, err
		}
		limit = *in.Limit
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	target := ""
	if in.KeyId != nil {
		k, err := s.resolve(*in.KeyId)
		if err != nil {
			return nil, err
		}
		target = k.id
	}
	var out []aliasEntry
	for _, a := range s.aliases {
		if target == "" || a.target == target {
			out = append(out, aliasEntry{AliasName: a.name, AliasArn: s.aliasARN(a.name), TargetKeyId: a.target,
				CreationDate: awsproto.EpochTime(a.created), LastUpdatedDate: awsproto.EpochTime(a.created)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].AliasName < out[j].AliasName })
	page, next, err := awsproto.Paginate(out, deref(in.Marker), limit, aliasPageSize, "InvalidMarkerException")
	if err != nil {
		return nil, err
	}
	if page == nil {
		page = []aliasEntry{}
	}
	res := map[string]any{"Aliases": page, "Truncated": next != ""}
	if next != "" {
		res["NextMarker"] = next
	}
	return res, nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
