variable "project_id" {
  description = "Google Cloud project that runs the pipeline and holds the dataset."
  type        = string
}

variable "region" {
  description = "Region of the Dataflow jobs, the staging bucket and the image repository."
  type        = string
  default     = "europe-west1"
}

variable "bq_location" {
  description = "BigQuery dataset location (EU, US or a region); keep it with the bucket's region for load jobs."
  type        = string
  default     = "EU"
}

variable "dataset_id" {
  description = "BigQuery dataset that receives the metric tables (the pipeline's --bq_dataset)."
  type        = string
  default     = "audiencesync"
}

variable "bucket_name" {
  description = "Staging bucket: Dataflow staging/temp, inputs (input/), config (config/), outputs (out/), state (state/), templates (templates/). Globally unique; default <project>-audiencesync."
  type        = string
  default     = ""
}

variable "service_account_id" {
  description = "Account id of the pipeline's service account (Dataflow launcher and workers)."
  type        = string
  default     = "audiencesync-pipeline"
}

variable "launcher_members" {
  description = "Principals that launch the job (Airflow's service account, CI, people), e.g. [\"serviceAccount:airflow@p.iam.gserviceaccount.com\"]: they get dataflow.developer and may act as the pipeline's account."
  type        = list(string)
  default     = []
}

variable "platform_secrets" {
  description = "Secret Manager secrets to create for the ad-platform credentials (values are added outside Terraform, so they never enter the state). Empty list: no Secret Manager."
  type        = list(string)
  default     = ["yandex-token", "vk-client-secret", "meta-access-token", "meta-app-secret", "google-ads-credentials"]
}

variable "tmp_retention_days" {
  description = "Days to keep Dataflow temp/ and staging/ objects."
  type        = number
  default     = 7
}

variable "enable_apis" {
  description = "Enable the APIs the pipeline uses (turn off when a platform team manages them)."
  type        = bool
  default     = true
}
