/**
 * The cloud API page's two example requests (../shared/seed/SubmitSnapshotJob.md),
 * their values verbatim (line breaks included: JSON whitespace), and their buckets.
 */
export const IN = 'example-bucket';
export const OUT = 'example-001';
export const LOCATION = 'oss-cn-hangzhou';

export const SEED_INPUT = `{"Bucket":"example-bucket", "Location": "oss-cn-hangzhou",
              "Object":"example.flv" }`;
export const SEED_SYNC_CONFIG = `{"OutputFile": {"Bucket": "example-001","Location":
              "oss-cn-hangzhou","Object": "example.jpg"},"Time": "5"}`;
export const SEED_ASYNC_CONFIG = `{"OutputFile": {"Bucket": "example-001","Location":
              "oss-cn-hangzhou","Object": "{Count}.jpg"},"Time":
              "5","Num":"10","Interval":"20"}`;
