# audiencesync on Google Cloud: one dataset, one bucket, one service account with the least
# roles the nightly pipeline needs on Dataflow, and an image repository for the flex template.

locals {
  bucket_name = var.bucket_name != "" ? var.bucket_name : "${var.project_id}-audiencesync"
  sa_member   = "serviceAccount:${google_service_account.pipeline.email}"
  apis = [
    "dataflow.googleapis.com",
    "bigquery.googleapis.com",
    "bigquerystorage.googleapis.com",
    "storage.googleapis.com",
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "secretmanager.googleapis.com",
  ]
}

resource "google_project_service" "apis" {
  for_each           = var.enable_apis ? toset(local.apis) : toset([])
  service            = each.value
  disable_on_destroy = false
}

resource "google_service_account" "pipeline" {
  account_id   = var.service_account_id
  display_name = "audiencesync nightly pipeline"
  description  = "Runs the audiencesync Dataflow launcher and workers: reads inputs, writes BigQuery tables and GCS outputs."
}

# --- BigQuery ---------------------------------------------------------------------------

resource "google_bigquery_dataset" "audiencesync" {
  dataset_id  = var.dataset_id
  location    = var.bq_location
  description = "audiencesync metric tables (partitioned on run_date by the pipeline)"
  labels      = { app = "audiencesync" }
  depends_on  = [google_project_service.apis]
}

# Create, replace and append tables in this dataset only.
resource "google_bigquery_dataset_iam_member" "pipeline_editor" {
  dataset_id = google_bigquery_dataset.audiencesync.dataset_id
  role       = "roles/bigquery.dataEditor"
  member     = local.sa_member
}

# Run load/query jobs (billed to the project) and read through the Storage Read API.
resource "google_project_iam_member" "pipeline_job_user" {
  project = var.project_id
  role    = "roles/bigquery.jobUser"
  member  = local.sa_member
}

resource "google_project_iam_member" "pipeline_read_session" {
  project = var.project_id
  role    = "roles/bigquery.readSessionUser"
  member  = local.sa_member
}

# --- Dataflow ---------------------------------------------------------------------------

resource "google_project_iam_member" "pipeline_dataflow_worker" {
  project = var.project_id
  role    = "roles/dataflow.worker"
  member  = local.sa_member
}

resource "google_project_iam_member" "launcher_dataflow_developer" {
  for_each = toset(var.launcher_members)
  project  = var.project_id
  role     = "roles/dataflow.developer"
  member   = each.value
}

# Launchers start jobs that run as the pipeline's account.
resource "google_service_account_iam_member" "launcher_act_as" {
  for_each           = toset(var.launcher_members)
  service_account_id = google_service_account.pipeline.name
  role               = "roles/iam.serviceAccountUser"
  member             = each.value
}

# --- Cloud Storage ----------------------------------------------------------------------

resource "google_storage_bucket" "staging" {
  name                        = local.bucket_name
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  labels                      = { app = "audiencesync" }

  # Beam warns about soft delete on staging/temp buckets: every temp file would be billed
  # for the retention period after Dataflow deletes it.
  soft_delete_policy {
    retention_duration_seconds = 0
  }

  lifecycle_rule {
    condition {
      age            = var.tmp_retention_days
      matches_prefix = ["tmp/", "staging/"]
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.apis]
}

resource "google_storage_bucket_iam_member" "pipeline_object_admin" {
  bucket = google_storage_bucket.staging.name
  role   = "roles/storage.objectAdmin"
  member = local.sa_member
}

# --- Flex template image ----------------------------------------------------------------

resource "google_artifact_registry_repository" "images" {
  location      = var.region
  repository_id = "audiencesync"
  format        = "DOCKER"
  description   = "audiencesync flex-template and runtime images"
  depends_on    = [google_project_service.apis]
}

# The flex-template launcher VM runs as the pipeline's account and pulls the image.
resource "google_artifact_registry_repository_iam_member" "pipeline_reader" {
  location   = google_artifact_registry_repository.images.location
  repository = google_artifact_registry_repository.images.name
  role       = "roles/artifactregistry.reader"
  member     = local.sa_member
}

# --- Secret Manager (optional) ----------------------------------------------------------
# Containers only: add versions with
#   gcloud secrets versions add yandex-token --data-file=./yandex-token
# so credential values never pass through Terraform state.

resource "google_secret_manager_secret" "platform" {
  for_each  = toset(var.platform_secrets)
  secret_id = "audiencesync-${each.value}"
  labels    = { app = "audiencesync" }
  replication {
    auto {}
  }
  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_iam_member" "pipeline_accessor" {
  for_each  = google_secret_manager_secret.platform
  secret_id = each.value.id
  role      = "roles/secretmanager.secretAccessor"
  member    = local.sa_member
}
