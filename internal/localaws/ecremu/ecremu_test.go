package ecremu_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/smithy-go"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/ecremu"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

func wantCode(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want %s", err, code)
	}
	if ae.ErrorCode() != code || !strings.Contains(ae.ErrorMessage(), msg) {
		t.Fatalf("err = %s: %q, want %s containing %q", ae.ErrorCode(), ae.ErrorMessage(), code, msg)
	}
}

func start(t *testing.T) (*ecr.Client, *clock.Fake) {
	clk := clock.NewFake(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	srv := localawstest.Start(t, localaws.Options{Clock: clk})
	return ecr.NewFromConfig(localawstest.Config(srv, 1)), clk
}

const manifest1 = `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"digest":"sha256:1"}}`
const manifest2 = `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"digest":"sha256:2"}}`

func TestRepositoriesAndImages(t *testing.T) {
	ctx := context.Background()
	c, _ := start(t)
	out, err := c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("team/api"),
		ImageScanningConfiguration: &types.ImageScanningConfiguration{ScanOnPush: true}})
	if err != nil {
		t.Fatal(err)
	}
	r := out.Repository
	if aws.ToString(r.RepositoryUri) != "000000000000.dkr.ecr.us-east-1.amazonaws.com/team/api" ||
		aws.ToString(r.RepositoryArn) != "arn:aws:ecr:us-east-1:000000000000:repository/team/api" ||
		r.ImageTagMutability != types.ImageTagMutabilityMutable || !r.ImageScanningConfiguration.ScanOnPush ||
		r.EncryptionConfiguration.EncryptionType != types.EncryptionTypeAes256 {
		t.Fatalf("repository = %+v", r)
	}
	// botocore ecr CreateRepository errors: RepositoryAlreadyExistsException.
	_, err = c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("team/api")})
	wantCode(t, err, "RepositoryAlreadyExistsException", "already exists")
	// botocore: RepositoryName pattern (lowercase) and length 2..256.
	_, err = c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("Team/API")})
	wantCode(t, err, "InvalidParameterException", "regular expression")
	_, err = c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("a")})
	wantCode(t, err, "InvalidParameterException", "greater than or equal to 2")
	_, err = c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("x1"), ImageTagMutability: "SOMETIMES"})
	wantCode(t, err, "InvalidParameterException", "enum value set")

	put, err := c.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String("team/api"), ImageManifest: aws.String(manifest1), ImageTag: aws.String("v1")})
	if err != nil {
		t.Fatal(err)
	}
	d1 := aws.ToString(put.Image.ImageId.ImageDigest)
	if d1 != ecremu.Digest(manifest1) || !strings.HasPrefix(d1, "sha256:") {
		t.Fatalf("digest = %s", d1)
	}
	// The same manifest and tag again: ImageAlreadyExistsException (botocore PutImage errors).
	_, err = c.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String("team/api"), ImageManifest: aws.String(manifest1), ImageTag: aws.String("v1")})
	wantCode(t, err, "ImageAlreadyExistsException", d1)

	byTag, err := c.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("team/api"), ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("v1")}}})
	if err != nil || len(byTag.ImageDetails) != 1 || aws.ToString(byTag.ImageDetails[0].ImageDigest) != d1 {
		t.Fatalf("by tag = %+v, %v", byTag, err)
	}
	byDigest, err := c.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("team/api"), ImageIds: []types.ImageIdentifier{{ImageDigest: aws.String(d1)}}})
	if err != nil || len(byDigest.ImageDetails) != 1 || byDigest.ImageDetails[0].ImageTags[0] != "v1" {
		t.Fatalf("by digest = %+v, %v", byDigest, err)
	}
	// botocore DescribeImages errors: ImageNotFoundException, RepositoryNotFoundException.
	_, err = c.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("team/api"), ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("v9")}}})
	wantCode(t, err, "ImageNotFoundException", "imageTag:'v9'")
	var inf *types.ImageNotFoundException
	if !errors.As(err, &inf) {
		t.Fatalf("%T is not the SDK's ImageNotFoundException", err)
	}
	_, err = c.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("team/web")})
	wantCode(t, err, "RepositoryNotFoundException", "team/web")
	var rnf *types.RepositoryNotFoundException
	if !errors.As(err, &rnf) {
		t.Fatalf("%T is not the SDK's RepositoryNotFoundException", err)
	}

	// A mutable tag moves to a new image; the old image becomes untagged.
	if _, err := c.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String("team/api"), ImageManifest: aws.String(manifest2), ImageTag: aws.String("v1")}); err != nil {
		t.Fatal(err)
	}
	untagged, err := c.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("team/api"), Filter: &types.DescribeImagesFilter{TagStatus: types.TagStatusUntagged}})
	if err != nil || len(untagged.ImageDetails) != 1 || aws.ToString(untagged.ImageDetails[0].ImageDigest) != d1 {
		t.Fatalf("untagged = %+v, %v", untagged, err)
	}

	// Tag immutability: pushing an existing tag to an IMMUTABLE repository
	// fails with ImageTagAlreadyExistsException.
	if _, err := c.PutImageTagMutability(ctx, &ecr.PutImageTagMutabilityInput{RepositoryName: aws.String("team/api"), ImageTagMutability: types.ImageTagMutabilityImmutable}); err != nil {
		t.Fatal(err)
	}
	_, err = c.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String("team/api"), ImageManifest: aws.String(manifest1), ImageTag: aws.String("v1")})
	wantCode(t, err, "ImageTagAlreadyExistsException", "immutable")

	if _, err := c.PutImageScanningConfiguration(ctx, &ecr.PutImageScanningConfigurationInput{RepositoryName: aws.String("team/api"),
		ImageScanningConfiguration: &types.ImageScanningConfiguration{ScanOnPush: false}}); err != nil {
		t.Fatal(err)
	}
	repos, err := c.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"team/api"}})
	if err != nil || repos.Repositories[0].ImageScanningConfiguration.ScanOnPush || repos.Repositories[0].ImageTagMutability != types.ImageTagMutabilityImmutable {
		t.Fatalf("repos = %+v, %v", repos, err)
	}
	_, err = c.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"nope"}})
	wantCode(t, err, "RepositoryNotFoundException", "nope")
}

func TestLifecyclePolicyValidation(t *testing.T) {
	ctx := context.Background()
	c, _ := start(t)
	if _, err := c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("api")}); err != nil {
		t.Fatal(err)
	}
	_, err := c.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String("api")})
	wantCode(t, err, "LifecyclePolicyNotFoundException", "")
	good := `{"rules":[{"rulePriority":1,"description":"expire untagged","selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":14},"action":{"type":"expire"}},` +
		`{"rulePriority":2,"description":"keep 30","selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":30},"action":{"type":"expire"}}]}`
	if _, err := c.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: aws.String("api"), LifecyclePolicyText: aws.String(good)}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String("api")})
	if err != nil || aws.ToString(got.LifecyclePolicyText) != good {
		t.Fatalf("get = %+v %v", got, err)
	}
	pad := strings.Repeat(" ", 100)
	// ECR user guide, lifecycle_policy_parameters; botocore LifecyclePolicyText length 100..30720.
	bad := map[string]string{
		"too short":         `{"rules":[]}`,
		"any not last":      `{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":3},"action":{"type":"expire"}},{"rulePriority":2,"selection":{"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":3},"action":{"type":"expire"}}]}`,
		"tagged no prefix":  `{"rules":[{"rulePriority":1,"selection":{"tagStatus":"tagged","countType":"imageCountMoreThan","countNumber":3},"action":{"type":"expire"}}]}` + pad,
		"untagged w prefix": `{"rules":[{"rulePriority":1,"selection":{"tagStatus":"untagged","tagPrefixList":["v"],"countType":"imageCountMoreThan","countNumber":3},"action":{"type":"expire"}}]}`,
		"duplicate prio":    `{"rules":[{"rulePriority":1,"selection":{"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":3},"action":{"type":"expire"}},{"rulePriority":1,"selection":{"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":4},"action":{"type":"expire"}}]}`,
	}
	for name, text := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := c.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: aws.String("api"), LifecyclePolicyText: aws.String(text)})
			wantCode(t, err, "InvalidParameterException", "")
		})
	}
	_, err = c.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: aws.String("nope"), LifecyclePolicyText: aws.String(good)})
	wantCode(t, err, "RepositoryNotFoundException", "nope")
}
