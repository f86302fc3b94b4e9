// Package ecremu is the local endpoint's ECR emulation (awsJson1.1,
// X-Amz-Target AmazonEC2ContainerRegistry_V20150921.*, SigV4 name "ecr"):
// repositories with tag mutability, scanning configuration and lifecycle
// policies, and images (PutImage so tests can seed them, DescribeImages by
// tag or digest), with the constraints and error codes of botocore's ecr
// service-2.json.
package ecremu

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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

const pageSize = 10

// Server is the ECR emulation. It is an http.Handler.
type Server struct {
	awsproto.RPC
	Region, Account string

	clk   clock.Clock
	mu    sync.Mutex
	repos map[string]*repo
}

type repo struct {
	name, mutability string
	scanOnPush       bool
	encryption       map[string]any
	created          time.Time
	lifecycle        string
	images           map[string]*image // by digest
	tags             []tagKV
}

type tagKV struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

type image struct {
	digest, manifest, mediaType string
	tags                        []string
	pushed                      time.Time
}

// New returns an empty emulation.
func New(region, account string, clk clock.Clock) *Server {
	s := &Server{Region: region, Account: account, clk: clock.Or(clk), repos: map[string]*repo{}}
	s.RPC.Ops = map[string]awsproto.Handler{
		"CreateRepository":              s.createRepository,
		"DescribeRepositories":          s.describeRepositories,
		"DescribeImages":                s.describeImages,
		"PutImage":                      s.putImage,
		"PutLifecyclePolicy":            s.putLifecyclePolicy,
		"GetLifecyclePolicy":            s.getLifecyclePolicy,
		"PutImageScanningConfiguration": s.putImageScanningConfiguration,
		"PutImageTagMutability":         s.putImageTagMutability,
	}
	return s
}

// botocore ecr: RepositoryName pattern, length 2..256.
var repoNameModelRe = regexp.MustCompile(`^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$`)

// Docker tag grammar: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
var tagRe = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,299}$`)
var digestRe = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)

var mutabilityEnum = []string{"MUTABLE", "IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION"}

func validation(value any, member, constraint string) error {
	return awsproto.InvalidParameter("1 validation error detected: Value '%v' at '%s' failed to satisfy constraint: %s", value, member, constraint)
}

func checkRepoName(name *string) error {
	if name == nil {
		return validation("null", "repositoryName", "Member must not be null")
	}
	n := *name
	switch {
	case len(n) < 2:
		return validation(n, "repositoryName", "Member must have length greater than or equal to 2")
	case len(n) > 256:
		return validation(n, "repositoryName", "Member must have length less than or equal to 256")
	case !repoNameModelRe.MatchString(n):
		return validation(n, "repositoryName", `Member must satisfy regular expression pattern: (?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*`)
	}
	return nil
}

func (s *Server) errRepoNotFound(name string) error {
	return awsproto.Errf("RepositoryNotFoundException", "The repository with name '%s' does not exist in the registry with id '%s'", name, s.Account)
}

// getRepo checks the name and finds the repository. Caller holds s.mu.
func (s *Server) getRepo(name *string) (*repo, error) {
	if err := checkRepoName(name); err != nil {
		return nil, err
	}
	r := s.repos[*name]
	if r == nil {
		return nil, s.errRepoNotFound(*name)
	}
	return r, nil
}

type repoOut struct {
	RepositoryArn              string             `json:"repositoryArn"`
	RegistryId                 string             `json:"registryId"`
	RepositoryName             string             `json:"repositoryName"`
	RepositoryUri              string             `json:"repositoryUri"`
	CreatedAt                  awsproto.EpochTime `json:"createdAt"`
	ImageTagMutability         string             `json:"imageTagMutability"`
	ImageScanningConfiguration map[string]bool    `json:"imageScanningConfiguration"`
	EncryptionConfiguration    map[string]any     `json:"encryptionConfiguration"`
}

func (s *Server) repoOut(r *repo) repoOut {
	return repoOut{
		RepositoryArn:              fmt.Sprintf("arn:aws:ecr:%s:%s:repository/%s", s.Region, s.Account, r.name),
		RegistryId:                 s.Account,
		RepositoryName:             r.name,
		RepositoryUri:              fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com/%s", s.Account, s.Region, r.name),
		CreatedAt:                  awsproto.EpochTime(r.created),
		ImageTagMutability:         r.mutability,
		ImageScanningConfiguration: map[string]bool{"scanOnPush": r.scanOnPush},
		EncryptionConfiguration:    r.encryption,
	}
}

func inEnum(v string, enum []string) bool {
	for _, e := range enum {
		if e == v {
			return true
		}
	}
	return false
}

func (s *Server) createRepository(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		RepositoryName             *string
		ImageTagMutability         *string
		ImageScanningConfiguration *struct{ ScanOnPush bool }
		EncryptionConfiguration    *struct {
			EncryptionType string
			KmsKey         *string
		}
		Tags []tagKV
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := checkRepoName(in.RepositoryName); err != nil {
		return nil, err
	}
	mut := "MUTABLE"
	if in.ImageTagMutability != nil {
		if !inEnum(*in.ImageTagMutability, mutabilityEnum) {
			return nil, validation(*in.ImageTagMutability, "imageTagMutability", "Member must satisfy enum value set: [MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION, MUTABLE_WITH_EXCLUSION]")
		}
		mut = *in.ImageTagMutability
	}
	enc := map[string]any{"encryptionType": "AES256"}
	if in.EncryptionConfiguration != nil {
		if !inEnum(in.EncryptionConfiguration.EncryptionType, []string{"AES256", "KMS", "KMS_DSSE"}) {
			return nil, validation(in.EncryptionConfiguration.EncryptionType, "encryptionConfiguration.encryptionType", "Member must satisfy enum value set: [AES256, KMS, KMS_DSSE]")
		}
		enc = map[string]any{"encryptionType": in.EncryptionConfiguration.EncryptionType}
		if in.EncryptionConfiguration.KmsKey != nil {
			enc["kmsKey"] = *in.EncryptionConfiguration.KmsKey
		}
	}
	if len(in.Tags) > 50 {
		return nil, awsproto.Errf("TooManyTagsException", "The list of tags on the repository is over the limit. The maximum number of tags that can be applied to a repository is 50.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	name := *in.RepositoryName
	if s.repos[name] != nil {
		return nil, awsproto.Errf("RepositoryAlreadyExistsException", "The repository with name '%s' already exists in the registry with id '%s'", name, s.Account)
	}
	r := &repo{name: name, mutability: mut, encryption: enc, created: s.clk.Now(), images: map[string]*image{}, tags: in.Tags}
	if in.ImageScanningConfiguration != nil {
		r.scanOnPush = in.ImageScanningConfiguration.ScanOnPush
	}
	s.repos[name] = r
	return map[string]any{"repository": s.repoOut(r)}, nil
}

func (s *Server) describeRepositories(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		RepositoryNames []string
		NextToken       string
		MaxResults      *int
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if in.RepositoryNames != nil && (len(in.RepositoryNames) < 1 || len(in.RepositoryNames) > 100) {
		return nil, validation(in.RepositoryNames, "repositoryNames", "Member must have length less than or equal to 100")
	}
	if in.MaxResults != nil && (*in.MaxResults < 1 || *in.MaxResults > 1000) {
		return nil, validation(*in.MaxResults, "maxResults", "Member must have value less than or equal to 1000")
	}
	if in.NextToken != "" && in.RepositoryNames != nil {
		return nil, awsproto.InvalidParameter("Invalid parameter at 'nextToken' failed to satisfy constraint: 'Cannot be specified with repositoryNames'")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []repoOut
	if in.RepositoryNames != nil {
		for _, n := range in.RepositoryNames {
			r, err := s.getRepo(&n)
			if err != nil {
				return nil, err
			}
			list = append(list, s.repoOut(r))
		}
		return map[string]any{"repositories": list}, nil
	}
	names := make([]string, 0, len(s.repos))
	for n := range s.repos {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		list = append(list, s.repoOut(s.repos[n]))
	}
	limit := 0
	if in.MaxResults != nil {
		limit = *in.MaxResults
	}
	page, next, err := awsproto.Paginate(list, in.NextToken, limit, pageSize, "InvalidParameterException")
	if err != nil {
		return nil, err
	}
	out := map[string]any{"repositories": append([]repoOut{}, page...)}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

type imageID struct {
	ImageDigest *string `json:"imageDigest,omitempty"`
	ImageTag    *string `json:"imageTag,omitempty"`
}

func (id imageID) String() string {
	d, t := "null", "null"
	if id.ImageDigest != nil {
		d = *id.ImageDigest
	}
	if id.ImageTag != nil {
		t = *id.ImageTag
	}
	return fmt.Sprintf("{imageDigest:'%s', imageTag:'%s'}", d, t)
}

type imageOut struct {
	RegistryId             string             `json:"registryId"`
	RepositoryName         string             `json:"repositoryName"`
	ImageDigest            string             `json:"imageDigest"`
	ImageTags              []string           `json:"imageTags,omitempty"`
	ImageSizeInBytes       int64              `json:"imageSizeInBytes"`
	ImagePushedAt          awsproto.EpochTime `json:"imagePushedAt"`
	ImageManifestMediaType string             `json:"imageManifestMediaType"`
	ArtifactMediaType      string             `json:"artifactMediaType"`
	ImageStatus            string             `json:"imageStatus"`
}

func (s *Server) imageOut(r *repo, im *image) imageOut {
	return imageOut{RegistryId: s.Account, RepositoryName: r.name, ImageDigest: im.digest, ImageTags: im.tags,
		ImageSizeInBytes: int64(len(im.manifest)) * 1024, ImagePushedAt: awsproto.EpochTime(im.pushed),
		ImageManifestMediaType: im.mediaType, ArtifactMediaType: "application/vnd.docker.container.image.v1+json", ImageStatus: "ACTIVE"}
}

func (s *Server) describeImages(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		RepositoryName *string
		ImageIds       []imageID
		NextToken      string
		MaxResults     *int
		Filter         *struct{ TagStatus *string }
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if in.ImageIds != nil && (len(in.ImageIds) < 1 || len(in.ImageIds) > 100) {
		return nil, validation("[]", "imageIds", "Member must have length greater than or equal to 1")
	}
	if in.MaxResults != nil && (*in.MaxResults < 1 || *in.MaxResults > 1000) {
		return nil, validation(*in.MaxResults, "maxResults", "Member must have value less than or equal to 1000")
	}
	if in.Filter != nil && in.Filter.TagStatus != nil && !inEnum(*in.Filter.TagStatus, []string{"TAGGED", "UNTAGGED", "ANY"}) {
		return nil, validation(*in.Filter.TagStatus, "filter.tagStatus", "Member must satisfy enum value set: [TAGGED, UNTAGGED, ANY]")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.getRepo(in.RepositoryName)
	if err != nil {
		return nil, err
	}
	if in.ImageIds != nil {
		if in.NextToken != "" {
			return nil, awsproto.InvalidParameter("Invalid parameter at 'nextToken' failed to satisfy constraint: 'Cannot be specified with imageIds'")
		}
		var out []imageOut
		for _, id := range in.ImageIds {
			if id.ImageDigest == nil && id.ImageTag == nil {
				return nil, awsproto.InvalidParameter("Invalid parameter at 'imageIds' failed to satisfy constraint: 'Image identifier must contain imageDigest or imageTag'")
			}
			im := r.find(id)
			if im == nil {
				return nil, awsproto.Errf("ImageNotFoundException", "The image with imageId %s does not exist within the repository with name '%s' in the registry with id '%s'", id, r.name, s.Account)
			}
			out = append(out, s.imageOut(r, im))
		}
		return map[string]any{"imageDetails": out}, nil
	}
	status := "ANY"
	if in.Filter != nil && in.Filter.TagStatus != nil {
		status = *in.Filter.TagStatus
	}
	ims := make([]*image, 0, len(r.images))
	for _, im := range r.images {
		if status == "TAGGED" && len(im.tags) == 0 || status == "UNTAGGED" && len(im.tags) > 0 {
			continue
		}
		ims = append(ims, im)
	}
	sort.Slice(ims, func(i, j int) bool {
		if !ims[i].pushed.Equal(ims[j].pushed) {
			return ims[i].pushed.Before(ims[j].pushed)
		}
		return ims[i].digest < ims[j].digest
	})
	list := make([]imageOut, 0, len(ims))
	for _, im := range ims {
		list = append(list, s.imageOut(r, im))
	}
	limit := 0
	if in.MaxResults != nil {
		limit = *in.MaxResults
	}
	page, next, err := awsproto.Paginate(list, in.NextToken, limit, pageSize, "InvalidParameterException")
	if err != nil {
		return nil, err
	}
	out := map[string]any{"imageDetails": append([]imageOut{}, page...)}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

// find returns the image an identifier names: by digest and, when both are
// given, only if the tag also points at it. Caller holds s.mu.
func (r *repo) find(id imageID) *image {
	var im *image
	if id.ImageDigest != nil {
		im = r.images[*id.ImageDigest]
		if im == nil {
			return nil
		}
		if id.ImageTag != nil && !hasTag(im, *id.ImageTag) {
			return nil
		}
		return im
	}
	for _, x := range r.images {
		if hasTag(x, *id.ImageTag) {
			return x
		}
	}
	return nil
}

func hasTag(im *image, tag string) bool {
	for _, t := range im.tags {
		if t == tag {
			return true
		}
	}
	return false
}

// Digest is the digest ECR computes for a manifest: sha256 of its bytes.
func Digest(manifest string) string {
	sum := sha256.Sum256([]byte(manifest))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func (s *Server) putImage(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		RepositoryName                   *string
		ImageManifest                    *string
		ImageManifestMediaType, ImageTag *string
		ImageDigest                      *string
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if in.ImageManifest == nil {
		return nil, validation("null", "imageManifest", "Member must not be null")
	}
	if len(*in.ImageManifest) < 1 || len(*in.ImageManifest) > 4194304 {
		return nil, validation("...", "imageManifest", "Member must have length less than or equal to 4194304")
	}
	if in.ImageTag != nil && (len(*in.ImageTag) < 1 || len(*in.ImageTag) > 300) {
		return nil, validation(*in.ImageTag, "imageTag", "Member must have length less than or equal to 300")
	}
	if in.ImageTag != nil && !tagRe.MatchString(*in.ImageTag) {
		return nil, awsproto.InvalidParameter("Invalid parameter at 'ImageTag' failed to satisfy constraint: 'must satisfy regular expression '[a-zA-Z0-9-_.]+''")
	}
	var manifest struct {
		MediaType     string `json:"mediaType"`
		SchemaVersion int    `json:"schemaVersion"`
	}
	if err := json.Unmarshal([]byte(*in.ImageManifest), &manifest); err != nil || manifest.SchemaVersion == 0 {
		return nil, awsproto.InvalidParameter("Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'Invalid JSON syntax'")
	}
	digest := Digest(*in.ImageManifest)
	if in.ImageDigest != nil && *in.ImageDigest != digest {
		return nil, awsproto.Errf("ImageDigestDoesNotMatchException", "The provided image digest '%s' does not match the calculated image digest '%s'.", *in.ImageDigest, digest)
	}
	mt := manifest.MediaType
	if in.ImageManifestMediaType != nil {
		mt = *in.ImageManifestMediaType
	}
	if mt == "" {
		mt = "application/vnd.docker.distribution.manifest.v2+json"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.getRepo(in.RepositoryName)
	if err != nil {
		return nil, err
	}
	im := r.images[digest]
	tag := ""
	if in.ImageTag != nil {
		tag = *in.ImageTag
	}
	if im != nil && (tag == "" || hasTag(im, tag)) {
		t := "null"
		if tag != "" {
			t = tag
		}
		return nil, awsproto.Errf("ImageAlreadyExistsException", "Image with digest '%s' and tag '%s' already exists in the repository with name '%s' in registry with id '%s'", digest, t, r.name, s.Account)
	}
	if tag != "" {
		for _, other := range r.images {
			if other != im && hasTag(other, tag) {
				if r.mutability == "IMMUTABLE" || r.mutability == "IMMUTABLE_WITH_EXCLUSION" {
					return nil, awsproto.Errf("ImageTagAlreadyExistsException", "The image tag '%s' already exists in the '%s' repository and cannot be overwritten because the repository is immutable.", tag, r.name)
				}
				// A mutable tag moves to the new image.
				kept := other.tags[:0]
				for _, t := range other.tags {
					if t != tag {
						kept = append(kept, t)
					}
				}
				other.tags = kept
			}
		}
	}
	if im == nil {
		im = &image{digest: digest, manifest: *in.ImageManifest, mediaType: mt, pushed: s.clk.Now()}
		r.images[digest] = im
	}
	if tag != "" {
		im.tags = append(im.tags, tag)
	}
	id := imageID{ImageDigest: &im.digest}
	if tag != "" {
		id.ImageTag = &tag
	}
	return map[string]any{"image": map[string]any{"registryId": s.Account, "repositoryName": r.name, "imageId": id,
		"imageManifest": im.manifest, "imageManifestMediaType": im.mediaType}}, nil
}

// lifecycle policy grammar (ECR user guide, lifecycle_policy_parameters).
type lifecyclePolicy struct {
	Rules []struct {
		RulePriority *int   `json:"rulePriority"`
		Description  string `json:"description"`
		Selection    *struct {
			TagStatus      string   `json:"tagStatus"`
			TagPrefixList  []string `json:"tagPrefixList"`
			TagPatternList []string `json:"tagPatternList"`
			CountType      string   `json:"countType"`
			CountUnit      string   `json:"countUnit"`
			CountNumber    *int     `json:"countNumber"`
		} `json:"selection"`
		Action *struct {
			Type string `json:"type"`
		} `json:"action"`
	} `json:"rules"`
}

func lifecycleErr(why string) error {
	return awsproto.InvalidParameter("Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: %s'", why)
}

func checkLifecycle(text string) error {
	var p lifecyclePolicy
	dec := json.NewDecoder(strings.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return lifecycleErr("could not parse the policy: " + err.Error())
	}
	if len(p.Rules) == 0 {
		return lifecycleErr("object has missing required properties ([\"rules\"])")
	}
	seen := map[int]bool{}
	maxPrio, anyPrio := 0, -1
	for _, r := range p.Rules {
		if r.RulePriority == nil || *r.RulePriority < 1 {
			return lifecycleErr("rulePriority must be a positive integer")
		}
		if seen[*r.RulePriority] {
			return lifecycleErr(fmt.Sprintf("rulePriority %d is not unique", *r.RulePriority))
		}
		seen[*r.RulePriority] = true
		if *r.RulePriority > maxPrio {
			maxPrio = *r.RulePriority
		}
		if r.Action == nil || r.Action.Type != "expire" {
			return lifecycleErr("action.type must be \"expire\"")
		}
		sel := r.Selection
		if sel == nil {
			return lifecycleErr("object has missing required properties ([\"selection\"])")
		}
		switch sel.TagStatus {
		case "tagged":
			if len(sel.TagPrefixList) == 0 && len(sel.TagPatternList) == 0 {
				return lifecycleErr("tagPrefixList or tagPatternList is required when tagStatus is tagged")
			}
			for _, pat := range sel.TagPatternList {
				if strings.Count(pat, "*") > 4 {
					return lifecycleErr("a tagPatternList entry may contain at most 4 wildcards")
				}
			}
		case "untagged":
			if len(sel.TagPrefixList) > 0 || len(sel.TagPatternList) > 0 {
				return lifecycleErr("tagPrefixList and tagPatternList are not allowed when tagStatus is untagged")
			}
		case "any":
			anyPrio = *r.RulePriority
		default:
			return lifecycleErr(fmt.Sprintf("instance value (%q) not found in enum (possible values: [\"tagged\",\"untagged\",\"any\"])", sel.TagStatus))
		}
		switch sel.CountType {
		case "imageCountMoreThan":
			if sel.CountUnit != "" {
				return lifecycleErr("countUnit is not allowed with imageCountMoreThan")
			}
		case "sinceImagePushed":
			if sel.CountUnit != "days" {
				return lifecycleErr("countUnit must be \"days\" with sinceImagePushed")
			}
		default:
			return lifecycleErr(fmt.Sprintf("instance value (%q) not found in enum (possible values: [\"imageCountMoreThan\",\"sinceImagePushed\"])", sel.CountType))
		}
		if sel.CountNumber == nil || *sel.CountNumber < 1 {
			return lifecycleErr("countNumber must be a positive integer")
		}
	}
	if anyPrio >= 0 && anyPrio != maxPrio {
		return lifecycleErr("a rule with tagStatus any must have the highest rulePriority")
	}
	return nil
}

func (s *Server) putLifecyclePolicy(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct{ RepositoryName, LifecyclePolicyText *string }
	if err := dec(&in); err != nil {
		return nil, err
	}
	if in.LifecyclePolicyText == nil {
		return nil, validation("null", "lifecyclePolicyText", "Member must not be null")
	}
	if n := len(*in.LifecyclePolicyText); n < 100 || n > 30720 {
		c := "Member must have length greater than or equal to 100"
		if n > 30720 {
			c = "Member must have length less than or equal to 30720"
		}
		return nil, validation(*in.LifecyclePolicyText, "lifecyclePolicyText", c)
	}
	if err := checkLifecycle(*in.LifecyclePolicyText); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.getRepo(in.RepositoryName)
	if err != nil {
		return nil, err
	}
	r.lifecycle = *in.LifecyclePolicyText
	return map[string]any{"registryId": s.Account, "repositoryName": r.name, "lifecyclePolicyText": r.lifecycle}, nil
}

func (s *Server) getLifecyclePolicy(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct{ RepositoryName *string }
	if err := dec(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.getRepo(in.RepositoryName)
	if err != nil {
		return nil, err
	}
	if r.lifecycle == "" {
		return nil, awsproto.Errf("LifecyclePolicyNotFoundException", "Lifecycle policy does not exist for the repository with name '%s' in the registry with id '%s'", r.name, s.Account)
	}
	return map[string]any{"registryId": s.Account, "repositoryName": r.name, "lifecyclePolicyText": r.lifecycle}, nil
}

func (s *Server) putImageScanningConfiguration(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		RepositoryName             *string
		ImageScanningConfiguration *struct{ ScanOnPush bool }
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if in.ImageScanningConfiguration == nil {
		return nil, validation("null", "imageScanningConfiguration", "Member must not be null")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.getRepo(in.RepositoryName)
	if err != nil {
		return nil, err
	}
	r.scanOnPush = in.ImageScanningConfiguration.ScanOnPush
	return map[string]any{"registryId": s.Account, "repositoryName": r.name, "imageScanningConfiguration": map[string]bool{"scanOnPush": r.scanOnPush}}, nil
}

func (s *Server) putImageTagMutability(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct{ RepositoryName, ImageTagMutability *string }
	if err := dec(&in); err != nil {
		return nil, err
	}
	if in.ImageTagMutability == nil {
		return nil, validation("null", "imageTagMutability", "Member must not be null")
	}
	if !inEnum(*in.ImageTagMutability, mutabilityEnum) {
		return nil, validation(*in.ImageTagMutability, "imageTagMutability", "Member must satisfy enum value set: [MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION, MUTABLE_WITH_EXCLUSION]")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.getRepo(in.RepositoryName)
	if err != nil {
		return nil, err
	}
	r.mutability = *in.ImageTagMutability
	return map[string]any{"registryId": s.Account, "repositoryName": r.name, "imageTagMutability": r.mutability}, nil
}

var _ http.Handler = (*Server)(nil)
