output "service_account_email" {
  description = "Pipeline service account: --service_account_email for Dataflow, audiencesync_service_account in Airflow."
  value       = google_service_account.pipeline.email
}

output "dataset" {
  description = "project:dataset of the metric tables (--bq_project / --bq_dataset)."
  value       = "${var.project_id}:${google_bigquery_dataset.audiencesync.dataset_id}"
}

output "bucket" {
  description = "Staging bucket name (BUCKET= for make dataflow-template, audiencesync_bucket in Airflow)."
  value       = google_storage_bucket.staging.name
}

output "template_path" {
  description = "Where make dataflow-template writes the flex-template spec."
  value       = "gs://${google_storage_bucket.staging.name}/templates/audiencesync-nightly.json"
}

output "image_repository" {
  description = "Artifact Registry path for the template image (IMAGE prefix of make dataflow-template)."
  value       = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.images.repository_id}"
}

output "secret_ids" {
  description = "Secret Manager secrets to fill with gcloud secrets versions add."
  value       = [for s in google_secret_manager_secret.platform : s.secret_id]
}
