"""The pages people see: the landing page, the draw page and their history."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET


@require_GET
def landing(request):
    """Explain the product to visitors; send people who are logged in to draw."""
    if request.user.is_authenticated:
        return redirect("recognizer:draw")
    return render(request, "landing.html")


@login_required
@require_GET
def draw(request):
    return render(request, "recognizer/draw.html")


@login_required
@require_GET
def history(request):
    return render(request, "recognizer/history.html")
