"""The SageMaker runtime: pipeline, model registry, endpoints, monitoring.

Everything here needs the ``[aws]`` extra (boto3 and the SageMaker Python SDK)
except :mod:`.container`, the entry point of the project image, which needs
only the project's own dependencies. Modules import boto3 and the SDK inside
functions, so ``<cli> --help`` works without the extra.
"""
