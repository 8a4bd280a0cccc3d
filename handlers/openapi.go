package handlers

import "github.com/gin-gonic/gin"

// registerDocs serves the OpenAPI document and the docs page.
func registerDocs(r *gin.Engine) {}
